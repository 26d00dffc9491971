import type { RedisClientType } from '@keyv/redis';
import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import Keyv from 'keyv';
import { CONFIG, type Config } from '../config/config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { MemoryStore } from './memory-store';
import { ResponseCache } from './response-cache';

/**
 * KeyvRedis on the connection RedisService owns. CacheModule disconnects its stores when the app
 * closes, and KeyvRedis would then close that shared connection gracefully, which waits for every
 * pending reply (forever, with a silent Redis); RedisService, a global module torn down after
 * every user of the connection, closes it instead, bounded. Loaded only when REDIS_URL is set.
 */
function sharedConnectionRedisStore(client: RedisClientType) {
  const { default: KeyvRedis } = require('@keyv/redis') as typeof import('@keyv/redis');
  class SharedConnectionRedisStore<T> extends KeyvRedis<T> {
    override async disconnect(): Promise<void> {}
  }
  return new SharedConnectionRedisStore(client, { namespace: undefined });
}

/**
 * cache-manager's tiers: a size-bounded LRU in process (L1) and, when REDIS_URL is set, Redis on
 * the connection RedisService owns (L2). ResponseCache reads through them.
 */
@Module({
  imports: [
    CacheModule.registerAsync({
      inject: [CONFIG, RedisService, MetricsService],
      useFactory: (config: Config, redis: RedisService, metrics: MetricsService) => {
        // Keys are used as built (they start with REDIS_KEY_PREFIX): no Keyv namespace, which
        // would put "keyv::" in front of them in Redis. Entries stay objects in L1 (no JSON round
        // trip per hit); Redis stores JSON.
        const l1 = new Keyv({
          store: new MemoryStore(
            config.cache.maxEntries,
            config.cache.maxBytes,
            config.cache.staleMs,
          ),
          namespace: undefined,
          serialize: undefined,
          deserialize: undefined,
          useKeyPrefix: false,
        });
        if (!redis.client) return { stores: [l1] };
        const l2 = new Keyv({
          store: sharedConnectionRedisStore(redis.client),
          namespace: undefined,
          useKeyPrefix: false,
        });
        l2.on('error', () => metrics.redisError());
        return { stores: [l1, l2] };
      },
    }),
  ],
  providers: [ResponseCache],
  exports: [ResponseCache],
})
export class ResponseCacheModule {}
