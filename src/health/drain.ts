import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem, sendProblem } from '../common/problem';
import { requestIdFrom } from '../common/request-context';
import type { Lifecycle } from './lifecycle';

/**
 * The drain, as the first request hook (before caller admission): from SIGTERM every answer
 * carries `Connection: close`, so pooled keep-alive callers reconnect (through the Service, to
 * another replica); once the listener is closed, a request still arriving on an open socket gets
 * the problem+json 503 `/problems/shutting-down` with its X-Request-Id and access-log line.
 */
export function installDrain(fastify: FastifyInstance, lifecycle: Lifecycle): void {
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!lifecycle.draining) return;
    reply.header('connection', 'close');
    if (!lifecycle.closed) return;
    request.ctx = {
      requestId: requestIdFrom(request.headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
    const problem = new Problem(
      503,
      'This instance is shutting down; retry the request.',
      [],
      {},
      'shutting-down',
    );
    sendProblem(reply, problem, request.ctx.requestId);
    return reply;
  });
}

/**
 * Stops accepting connections; resolves once every open connection has ended (idle keep-alive
 * sockets are closed at once, busy ones after their answer, which says Connection: close).
 */
export function stopListening(fastify: FastifyInstance, lifecycle: Lifecycle): Promise<void> {
  lifecycle.closed = true;
  return new Promise((resolve) => {
    fastify.server.close(() => resolve());
    fastify.server.closeIdleConnections();
  });
}
