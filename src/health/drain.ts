import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../common/answer';
import { Problem } from '../common/problem';
import type { Lifecycle } from './lifecycle';

/**
 * Once the listener is closed, a request still arriving on an open socket gets the problem+json
 * 503 `/problems/shutting-down` with its X-Request-Id and access-log line (the first request hook,
 * before caller admission). Connection: close from SIGTERM on is the Exit's, for every answer.
 */
export function installDrain(fastify: FastifyInstance, lifecycle: Lifecycle): void {
  const refuseWhenClosed = (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (!lifecycle.closed) return done();
    const problem = new Problem(
      503,
      'This instance is shutting down; retry the request.',
      [],
      {},
      'shutting-down',
    );
    sendProblem(reply, problem);
  };
  fastify.addHook('onRequest', refuseWhenClosed);
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
