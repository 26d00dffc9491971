import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './answer';
import { Problem, renderProblem } from './problem';

/** Node's clientError for a request not received within REQUEST_TIMEOUT_MS (a slow body). */
const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';

/**
 * What Node's HTTP server refuses before a request reaches the service still gets a problem+json:
 * a request its parser refuses (e.g. CR/LF in a header: 400, too large a head: 431), and one not
 * received in time (a body slower than REQUEST_TIMEOUT_MS: 408). When an answer was already begun
 * on the socket (e.g. a 401 sent before the body was read), the connection is just closed.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const problem =
    error.code === REQUEST_TIMEOUT
      ? new Problem(
          408,
          'The request was not received in time; send the body at once.',
          [],
          {},
          'request-timeout',
        )
      : new Problem(
          error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400,
          'The HTTP request is malformed.',
          [],
          {},
          'malformed-request',
        );
  const { status, headers, body } = renderProblem(problem, randomUUID());
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs — broken
 * percent-encoding (`/v1/integrations/%zz`, a lone `%`) and over-long path parameters — answered
 * like everything else: problem+json with X-Request-Id, an access line and the request metric.
 */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const detail =
    status === 414 ? 'A path segment is too long.' : 'The URL is malformed (bad percent-encoding).';
  const errors = [{ field: 'path', message: detail }];
  sendProblem(reply, new Problem(status, detail, errors, {}, 'malformed-request'));
}
