import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { type DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { CallerAuth } from './auth/caller-auth';
import { ResponseCache } from './cache/response-cache';
import { Problem, renderProblem } from './common/problem';
import { ProblemFilter } from './common/problem.filter';
import { validationPipe } from './common/validation';
import type { Config } from './config/config';
import { setupDocs } from './docs/swagger';
import { AppLogger, batchedStdout } from './logging/app-logger';
import { MetricsService } from './metrics/metrics.service';
import { AccessLog, installEdge } from './proxy/edge';
import { HitPath } from './proxy/hit-path';
import { installTracing } from './tracing/tracing';

const ONE_MIB = 1024 * 1024;
const MAX_JSON_DEPTH = 32;

/** Builds the whole service (not listening yet); main.ts and the e2e tests both start it so. */
export async function createApp(
  config: Config,
  logDestination: DestinationStream = batchedStdout(),
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: ONE_MIB,
    routerOptions: { maxParamLength: 16_384 }, // long ids reach validation (400), not a bare 404
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: answerMalformedRequest,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logDestination),
    adapter,
    { bufferLogs: true, abortOnError: false, bodyParser: false },
  );
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new ProblemFilter(logger));

  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  installJsonParser(fastify);
  const tracing = await installTracing(fastify, config.otelEndpoint);
  const access = new AccessLog(app.get(MetricsService), logger);
  installEdge(fastify, { auth: app.get(CallerAuth), access, tracing });
  // With tracing on, every request goes through the traced pipeline instead.
  if (!tracing) {
    new HitPath(config, app.get(CallerAuth), app.get(ResponseCache), access).installOn(fastify);
  }
  setupDocs(app);
  await app.init();
  return app;
}

/** A request Node's HTTP parser refuses (e.g. CR/LF in a header) still gets a problem+json. */
function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const { headers, body } = renderProblem(
    new Problem(status, 'The HTTP request is malformed.'),
    randomUUID(),
  );
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Fastify's own JSON parser (which refuses __proto__ and constructor.prototype keys), plus: an
 * empty body reads as {} for routes whose fields are all optional, and nesting deeper than
 * MAX_JSON_DEPTH is refused before parsing.
 */
function installJsonParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  // JSON only: Fastify's built-in text/plain parser would hand a string to the DTOs (API.md: 415).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (nestingDepth(text) > MAX_JSON_DEPTH) {
      return done(
        Problem.badRequest(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`),
        undefined,
      );
    }
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        const message = 'the request body must be a JSON object';
        return done(
          Problem.badRequest(`Invalid request: ${message}.`, [{ field: 'body', message }]),
          undefined,
        );
      }
      done(null, value);
    });
  });
  // Only JSON bodies: text/plain (Fastify's other built-in parser) is refused with 415 too.
  fastify.removeContentTypeParser('text/plain');
}

function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}
