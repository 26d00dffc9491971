import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { RedisService } from '../redis/redis.service';
import { Lifecycle } from './lifecycle';

/** Kubernetes probes. Configuration was validated before the app started, so it is up here. */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res() reply: FastifyReply) {
    try {
      reply.send(await this.health.check([() => this.accepting(), () => this.redisAnswers()]));
    } catch (error) {
      const body = (error as { getResponse?: () => unknown }).getResponse?.() ?? {
        status: 'error',
      };
      reply.code(503).send(body);
    }
  }

  private accepting() {
    const indicator = this.indicators.check('shutdown');
    return this.lifecycle.draining
      ? indicator.down({ message: 'draining for shutdown' })
      : indicator.up();
  }

  private async redisAnswers() {
    const indicator = this.indicators.check('redis');
    if (!this.redis.configured)
      return indicator.up({ message: 'not configured (in-process cache)' });
    return (await this.redis.ping())
      ? indicator.up()
      : indicator.down({ message: 'redis does not answer' });
  }
}
