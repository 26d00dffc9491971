import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiExcludeController } from '../docs/api-decorators';
import { RedisService } from '../redis/redis.service';
import { Lifecycle } from './lifecycle';

/**
 * Kubernetes probes. Configuration was validated before the app started, so it is up here.
 * Readiness answers for this pod alone: Redis is shared by every replica, so Redis being down
 * never fails it (every pod would leave the Service at once, although each serves without it);
 * its state is information in the body.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly redis: RedisService,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(@Res() reply: FastifyReply) {
    const redis = this.redis.state;
    if (this.lifecycle.draining) reply.code(503).send({ status: 'shutting down', redis });
    else reply.send({ status: 'ok', redis });
  }
}
