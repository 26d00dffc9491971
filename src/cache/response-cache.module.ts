import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import Keyv from 'keyv';
import { CONFIG, type Config } from '../config/config';
import { RedisService } from '../redis/redis.service';
import { RedisCacheStore } from '../redis/redis-cache-store';
import { MemoryStore } from './memory-store';
import { ResponseCache } from './response-cache';

/** The in-process store, one per replica: the first tier's, and ResponseCache's STALE copies. */
@Module({
  providers: [
    {
      provide: MemoryStore,
      inject: [CONFIG],
      useFactory: ({ cache }: Config) =>
        new MemoryStore(cache.maxEntries, cache.maxBytes, cache.staleMs),
    },
  ],
  exports: [MemoryStore],
})
class MemoryStoreModule {}

/**
 * cache-manager's tiers, provided by CacheModule: a size-bounded LRU in process (L1) and, when
 * Redis is configured, Redis on the connection RedisService owns (L2). Keys are used as built (they
 * start with REDIS_KEY_PREFIX): no Keyv namespace, which would put "keyv:" in front of them.
 * Entries stay objects in L1 (no JSON round trip per hit); Redis stores JSON. The Redis tier throws
 * Redis's errors (`throwOnErrors`) instead of answering "not found" or `false`, so ResponseCache
 * tells a failed lookup or store from a miss or a success.
 */
function tiers(memory: MemoryStore, redis: RedisService): Keyv[] {
  const l1 = new Keyv({
    store: memory,
    namespace: undefined,
    serialize: undefined,
    deserialize: undefined,
    useKeyPrefix: false,
  });
  if (!redis.configured) return [l1];
  const l2 = new Keyv({
    store: new RedisCacheStore(redis),
    namespace: undefined,
    useKeyPrefix: false,
    throwOnErrors: true,
  });
  return [l1, l2];
}

@Module({
  imports: [
    MemoryStoreModule,
    CacheModule.registerAsync({
      imports: [MemoryStoreModule],
      inject: [MemoryStore, RedisService],
      useFactory: (memory: MemoryStore, redis: RedisService) => ({ stores: tiers(memory, redis) }),
    }),
  ],
  providers: [ResponseCache],
  exports: [ResponseCache],
})
export class ResponseCacheModule {}
