import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { CONFIG, type Config } from './config/config';
import { Lifecycle } from './health/lifecycle';
import { WindowCounters } from './limits/window-counters';
import { AppLogger, LOG_DESTINATION } from './logging/app-logger';
import { MetricsService } from './metrics/metrics.service';
import { RedisService } from './redis/redis.service';
import { TenantRegistry } from './tenants/tenant-registry';

/** Process-wide services every module may use: configuration, logs, metrics, Redis, limits. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, logDestination: DestinationStream): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: config },
      { provide: LOG_DESTINATION, useValue: logDestination },
      AppLogger,
      MetricsService,
      RedisService,
      WindowCounters,
      Lifecycle,
      TenantRegistry,
    ];
    return { module: CoreModule, providers, exports: providers };
  }
}
