import './v8-heap'; // first: before the app's modules allocate
import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config/config';
import { stopListening } from './health/drain';
import { Lifecycle } from './health/lifecycle';
import { AppLogger, batchedStdout } from './logging/app-logger';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) {
      process.stderr.write(`configuration error: ${problem}\n`);
    }
    process.exit(2);
  }
  const stdout = batchedStdout();
  const app = await createApp(config, stdout);
  try {
    await app.listen({ port: config.port, host: config.host });
    const admin = app.getHttpAdapter().getInstance().adminServer;
    if (admin) {
      await new Promise<void>((resolve, reject) => {
        admin.once('error', reject);
        admin.listen(config.adminPort, config.host, resolve);
      });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const port = (error as { port?: number }).port ?? config.port;
    process.stderr.write(
      `start-up failed: ${config.host}:${port} is already in use (EADDRINUSE): choose a free port\n`,
    );
    process.exit(1);
  }
  const logger = app.get(AppLogger);
  logger.info(
    {
      host: config.host,
      port: config.port,
      admin_port: config.adminPort,
      redis: Boolean(config.redis),
    },
    'listening',
  );
  for (const warning of config.warnings) logger.warn({ context: 'config' }, warning);
  stdout.flush();

  // SIGTERM: readiness turns 503 and every answer says Connection: close at once; load balancers
  // get SHUTDOWN_DRAIN_MS to notice and pooled callers to reconnect elsewhere. Then the listener
  // closes, in-flight requests get SHUTDOWN_TIMEOUT_MS to finish, and the app (Redis) closes.
  const lifecycle = app.get(Lifecycle);
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const shutdown = async (signal: string) => {
    logger.info({ signal, drain_ms: config.shutdown.drainMs }, 'shutting down');
    lifecycle.startDraining();
    await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainMs));
    const force = setTimeout(() => {
      logger.warn(
        { timeout_ms: config.shutdown.timeoutMs },
        'in-flight requests did not finish in time',
      );
      process.exit(1);
    }, config.shutdown.timeoutMs);
    await stopListening(fastify, lifecycle);
    await app.close();
    clearTimeout(force);
    logger.info({}, 'stopped');
    // The log is written in batches: the last lines must reach stdout before the process ends.
    await new Promise<void>((resolve) => {
      stdout.flush(() => resolve());
      setTimeout(resolve, 1000).unref();
    });
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(
    `start-up failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
