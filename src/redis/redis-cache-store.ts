import type KeyvRedis from '@keyv/redis';
import type { KeyvStoreAdapter } from 'keyv';
import type { RedisService } from './redis.service';

/**
 * The cache's Redis tier as a Keyv store: @keyv/redis on the connection RedisService owns (a single
 * client, a Sentinel or a Cluster client: KeyvRedis takes each as it is). KeyvRedis throws Redis's
 * errors (`throwOnErrors`) instead of answering "not found", and this adapter adds what neither
 * library does:
 * - every call goes through RedisService.run(): bounded by REDIS_TIMEOUT_MS (KeyvRedis has no
 *   command timeout), counted in bff_redis_errors_total and reflected in Redis's state;
 * - disconnect() leaves the connection alone: CacheModule disconnects its stores at shutdown, and
 *   KeyvRedis would close the shared connection gracefully, which waits for every pending reply
 *   (forever, with a silent Redis); RedisService closes it last, bounded.
 * It emits no events: its failures are thrown (the Keyv above it rethrows them, `throwOnErrors`).
 */
export class RedisCacheStore implements KeyvStoreAdapter {
  readonly opts = { dialect: 'redis' };
  namespace?: string;
  private readonly store: KeyvRedis<string>;

  constructor(private readonly redis: RedisService) {
    // Without a client KeyvRedis would connect to localhost:6379 on its own.
    if (!redis.client) throw new Error('RedisCacheStore needs a configured Redis');
    // Loaded only when Redis is configured, as the client library.
    const { default: Store } = require('@keyv/redis') as typeof import('@keyv/redis');
    // No namespace: keys are used as built (they start with REDIS_KEY_PREFIX).
    this.store = new Store<string>(redis.client, { namespace: undefined, throwOnErrors: true });
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    return (await this.redis.run(() => this.store.get(key))) as Value | undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<void> {
    await this.redis.run(() => this.store.set(key, value, ttl));
  }

  delete(key: string): Promise<boolean> {
    return this.redis.run(() => this.store.delete(key));
  }

  /** Entries go by generation (a write bumps its family), never by a SCAN over a shared Redis. */
  async clear(): Promise<void> {}

  on(): this {
    return this;
  }

  /** The connection is RedisService's: it closes it, after every user, within REDIS_TIMEOUT_MS. */
  async disconnect(): Promise<void> {}
}
