import KeyvRedis from '@keyv/redis';
import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import Keyv from 'keyv';
import { LRUCache } from 'lru-cache';
import { CONFIG, type Config } from '../config/config';
import { RedisService } from '../redis/redis.service';
import { ResponseCache } from './response-cache';

type Stored = { value: { body: Buffer } };

/** An LRU bounded by entry count and by bytes, in the Map-like shape Keyv expects. */
function boundedMemoryStore(maxEntries: number, maxBytes: number) {
  const lru = new LRUCache<string, Stored>({
    max: maxEntries,
    maxSize: maxBytes,
    sizeCalculation: (item) => item.value.body.length + 128,
  });
  return {
    get: (key: string) => lru.get(key),
    set: (key: string, value: Stored, ttl?: number) => {
      lru.set(key, value, { ttl: ttl && ttl > 0 ? ttl : undefined });
      return true;
    },
    delete: (key: string) => lru.delete(key),
    clear: () => lru.clear(),
    has: (key: string) => lru.has(key),
  };
}

/**
 * Redis as a Keyv store on the connection RedisService owns. CacheModule disconnects its stores
 * on module destroy, and KeyvRedis would then close() that shared connection, which waits for
 * every pending reply (forever, with a silent Redis). RedisService closes it, bounded, instead.
 */
class SharedConnectionRedisStore extends KeyvRedis<unknown> {
  override async disconnect(): Promise<void> {}
}

/**
 * cache-manager with a size-bounded LRU in process (L1) and, when REDIS_URL is set, the shared
 * Redis (L2). ResponseCache builds the read-through on top of it.
 */
@Module({
  imports: [
    CacheModule.registerAsync({
      inject: [CONFIG, RedisService],
      useFactory: (config: Config, redis: RedisService) => {
        // Entries stay objects in L1 (no JSON round trip per hit); Redis stores JSON.
        // namespace undefined: keys are used as built (they start with REDIS_KEY_PREFIX); Keyv's
        // default namespace would put "keyv::" in front of them in Redis.
        const l1 = new Keyv({
          store: boundedMemoryStore(config.cache.maxEntries, config.cache.maxBytes),
          namespace: undefined,
          serialize: undefined,
          deserialize: undefined,
          useKeyPrefix: false,
        });
        const stores = [l1];
        if (redis.client) {
          const l2 = new SharedConnectionRedisStore(redis.client, { namespace: undefined });
          stores.push(new Keyv({ store: l2, namespace: undefined, useKeyPrefix: false }));
        }
        return { stores };
      },
    }),
  ],
  providers: [ResponseCache],
  exports: [ResponseCache],
})
export class ResponseCacheModule {}
