import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../common/answer';
import { Problem } from '../common/problem';
import { slotsOf } from '../common/request-context';

/** The operations surface: probes, metrics, API documentation and problem descriptions. */
const ADMIN_PATH = /^\/(metrics|health\/|docs|problems\/)/;

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
export function installAdminPort(
  fastify: FastifyInstance,
  adminPort: number | undefined,
  /** The server entry's opening of a request (its context and response side). */
  open: (req: IncomingMessage, res: ServerResponse) => unknown,
): void {
  if (adminPort === undefined) return;
  const server = createServer((req, res) => {
    open(req, res);
    slotsOf(req).onAdminPort = true;
    fastify.routing(req, res);
  });
  fastify.decorate('adminServer', server);
  // Installed before the edge hooks: a path on the wrong port is answered 404 before any caller
  // check (so /v1 on the admin port never says 401). The request still gets its id, access line
  // and metrics, like any other.
  const refuseOnWrongPort = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const onAdminPort = slotsOf(request.raw).onAdminPort === true;
    if (ADMIN_PATH.test(request.url) === onAdminPort) return done();
    sendProblem(reply, new Problem(404, 'No such route.'));
  };
  fastify.addHook('onRequest', refuseOnWrongPort);
  fastify.addHook('onClose', (_instance, done) => {
    if (!server.listening) return done();
    server.close(() => done());
    server.closeAllConnections();
  });
}
