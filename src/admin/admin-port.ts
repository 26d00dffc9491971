import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Problem, sendProblem } from '../common/problem';
import { requestIdFrom } from '../common/request-context';

/** The operations surface: probes, metrics, API documentation and problem descriptions. */
const ADMIN_PATH = /^\/(metrics|health\/|docs|problems\/)/;

const ON_ADMIN_PORT = Symbol('onAdminPort');
type MarkedRequest = IncomingMessage & { [ON_ADMIN_PORT]?: true };

declare module 'fastify' {
  interface FastifyInstance {
    /** The ADMIN_PORT server (not listening until main.ts says so); absent without ADMIN_PORT. */
    adminServer?: Server;
  }
}

/**
 * ADMIN_PORT: a second HTTP server that hands its requests to the same Fastify router (same
 * hooks, access log, metrics), so /metrics, /health/*, /docs and /problems/* are served there
 * and answered 404 on the API port, while /v1 is answered 404 on the admin port.
 */
export function installAdminPort(fastify: FastifyInstance, adminPort: number | undefined): void {
  if (adminPort === undefined) return;
  const server = createServer((req: MarkedRequest, res) => {
    req[ON_ADMIN_PORT] = true;
    fastify.routing(req, res);
  });
  fastify.decorate('adminServer', server);
  // Installed before the edge hooks: a path on the wrong port is answered 404 before any caller
  // check (so /v1 on the admin port never says 401). The request still gets its id, access line
  // and metrics, like any other.
  fastify.addHook('onRequest', async (request, reply) => {
    const onAdminPort = (request.raw as MarkedRequest)[ON_ADMIN_PORT] === true;
    if (ADMIN_PATH.test(request.url) === onAdminPort) return;
    request.ctx = {
      requestId: requestIdFrom(request.headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
    sendProblem(reply, new Problem(404, 'No such route.'), request.ctx.requestId);
    return reply;
  });
  fastify.addHook('onClose', (_instance, done) => {
    if (!server.listening) return done();
    server.close(() => done());
    server.closeAllConnections();
  });
}
