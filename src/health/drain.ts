import type { FastifyInstance } from 'fastify';
import { Problem, sendProblem } from '../common/problem';
import { requestIdFrom } from '../common/request-context';
import type { Lifecycle } from './lifecycle';

/**
 * The drain, as the first request hook (before caller admission) and a send hook: from SIGTERM
 * every answer carries `Connection: close` (set at send time, so an answer to a request that began
 * before SIGTERM says it too), and pooled keep-alive callers reconnect, through the Service, to
 * another replica. Once the listener is closed, a request still arriving on an open socket gets
 * the problem+json 503 `/problems/shutting-down` with its X-Request-Id and access-log line.
 * Synchronous hooks: they run on every request, hits included.
 */
export function installDrain(fastify: FastifyInstance, lifecycle: Lifecycle): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!lifecycle.closed) return done();
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
