import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { type DestinationStream } from 'pino';
import { installAdminPort } from './admin/admin-port';
import { AppModule } from './app.module';
import { CallerAuth } from './auth/caller-auth';
import { installJsonParser } from './common/json-body';
import { answerFrameworkError, answerMalformedRequest } from './common/malformed-request';
import { ProblemFilter } from './common/problem.filter';
import { installContext } from './common/request-context';
import { validationPipe } from './common/validation';
import type { Config } from './config/config';
import { installDrain } from './health/drain';
import { Lifecycle } from './health/lifecycle';
import { AppLogger, batchedStdout } from './logging/app-logger';
import { MetricsService } from './metrics/metrics.service';
import { Edge } from './proxy/edge';
import { ServerEntry } from './proxy/entry';
import { Exit } from './proxy/exit';
import { ProxyService } from './proxy/proxy.service';
import { installTracing } from './tracing/tracing';

const ONE_MIB = 1024 * 1024;

/** Builds the whole service (not listening yet); main.ts and the e2e tests both start it so. */
export async function createApp(
  config: Config,
  logDestination: DestinationStream = batchedStdout(),
): Promise<NestFastifyApplication> {
  const entry = new ServerEntry(config.requestTimeoutMs);
  const adapter = new FastifyAdapter({
    bodyLimit: ONE_MIB,
    routerOptions: { maxParamLength: 16_384 }, // long ids reach validation (400), not a bare 404
    return503OnClosing: false, // the drain hook answers a problem+json 503 instead
    forceCloseConnections: 'idle',
    clientErrorHandler: answerMalformedRequest,
    frameworkErrors: answerFrameworkError,
    skipMiddie: true, // no Nest middleware here: one request hook less on every request
    serverFactory: entry.serverFactory, // where every request starts: see ServerEntry
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
  installContext(fastify);
  installJsonParser(fastify);
  const tracing = await installTracing(fastify, config.otelEndpoint);
  const lifecycle = app.get(Lifecycle);
  // The request hooks, in order: wrong port (404), closed (503), caller admission (edge).
  installAdminPort(fastify, config.adminPort, (req, res) => entry.open(req, res));
  installDrain(fastify, lifecycle);
  const edge = new Edge({
    auth: app.get(CallerAuth),
    proxy: app.get(ProxyService),
    lifecycle,
    tracing,
  });
  edge.install(fastify);
  entry.attach(edge, new Exit(app.get(MetricsService), logger, lifecycle, tracing));
  // Loaded only when enabled: Swagger UI and the document builder cost memory (see docs/performance.md).
  if (config.docsEnabled)
    (require('./docs/swagger') as typeof import('./docs/swagger')).setupDocs(app);
  await app.init();
  return app;
}
