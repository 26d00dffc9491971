/**
 * The start-up baseline: a bare NestJS app on Fastify with one controller (GET /health/ready),
 * from the same node_modules as the BFF. Plain JavaScript, so nothing compiles it: the
 * decorators are applied as TypeScript's output applies them. Env: PORT.
 */
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

class HealthController {
  ready() {
    return { status: 'ok' };
  }
}
const ready = Object.getOwnPropertyDescriptor(HealthController.prototype, 'ready');
Get('ready')(HealthController.prototype, 'ready', ready);
Controller('health')(HealthController);

class AppModule {}
Module({ controllers: [HealthController] })(AppModule);

NestFactory.create(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] })
  .then((app) => app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }))
  .catch((error) => {
    process.stderr.write(`bare-nest: ${error.stack}\n`);
    process.exit(1);
  });
