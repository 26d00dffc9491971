import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Problem, renderProblem, sendProblem } from './problem';
import { requestIdFrom } from './request-context';

/** A request Node's HTTP parser refuses (e.g. CR/LF in a header) still gets a problem+json. */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const { headers, body } = renderProblem(
    new Problem(status, 'The HTTP request is malformed.', [], {}, 'malformed-request'),
    randomUUID(),
  );
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Records the access line and request metrics of a request answered outside the hooks. */
export type RecordAnswer = (request: FastifyRequest, status: number) => void;

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs — broken
 * percent-encoding (`/v1/integrations/%zz`, a lone `%`) and over-long path parameters — answered
 * like everything else: problem+json with X-Request-Id, an access line and the request metric.
 * `record` is read when a request comes, so it can be wired once the app exists.
 */
export function frameworkErrorHandler(
  recorder: () => RecordAnswer | undefined,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    request.ctx = {
      requestId: requestIdFrom(request.headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
    const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
    const detail =
      status === 414
        ? 'A path segment is too long.'
        : 'The URL is malformed (bad percent-encoding).';
    const errors = [{ field: 'path', message: detail }];
    const problem = new Problem(status, detail, errors, {}, 'malformed-request');
    sendProblem(reply, problem, request.ctx.requestId);
    recorder()?.(request, status);
  };
}
