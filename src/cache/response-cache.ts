import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import { type Cache, createCache } from 'cache-manager';
import type { CacheResult } from '../common/request-context';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import type { CacheFamily } from '../proxy/proxy-route';
import { RedisService } from '../redis/redis.service';
import { UpstreamFailure } from '../upstream/upstream-errors';

/** A finished answer, stored as the bytes we send (no re-serialisation on a hit). */
export interface CachedResponse {
  status: number;
  body: string;
}

interface Entry extends CachedResponse {
  freshUntil: number;
}

export interface CacheOutcome {
  response: CachedResponse;
  cache: CacheResult;
}

const FAMILIES: CacheFamily[] = [
  'integrations',
  'organization-integrations',
  'role-external-references',
];

/**
 * Read-through cache for proxied GETs, on cache-manager: a size-bounded LRU in process (L1) and,
 * with REDIS_URL, Redis shared by the replicas (L2). Keys carry a per-family generation number;
 * a write bumps it (in Redis, so every replica sees it at its next read), which makes every older
 * entry of the family unreachable at once. Identical concurrent misses share one upstream call;
 * entries are kept CACHE_STALE_SECONDS past freshness to answer when PostHog fails.
 */
@Injectable()
export class ResponseCache {
  private readonly local: Cache;
  private readonly tiered?: Cache;
  private readonly inflight = new Map<string, Promise<CachedResponse>>();
  private readonly localGenerations = new Map<CacheFamily, number>();
  private readonly staleMs: number;

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(CACHE_MANAGER) stores: Cache,
    private readonly redis: RedisService,
    private readonly logger: AppLogger,
  ) {
    this.staleMs = config.cache.staleMs;
    // stores[0] is the in-process LRU; a second store is Redis (see ResponseCacheModule).
    this.local = createCache({ stores: [stores.stores[0]] });
    if (stores.stores.length > 1) {
      this.tiered = stores;
      // While Redis was away, writes elsewhere went unseen: start local generations afresh.
      redis.onAvailabilityChange(() => {
        for (const family of FAMILIES) this.bumpLocal(family);
      });
    }
  }

  /** A fresh entry for this upstream target, if any (the hit path; never calls PostHog). */
  async fresh(family: CacheFamily, target: string): Promise<CachedResponse | undefined> {
    const entry = await this.get(await this.key(family, target));
    return entry && entry.freshUntil > Date.now() ? entry : undefined;
  }

  /**
   * Answers from a fresh entry (HIT), else from PostHog through `load` (MISS, shared by identical
   * concurrent misses), else, when PostHog failed transiently, from a stale entry (STALE).
   * `noCache` (the caller's Cache-Control: no-cache) skips stored data but refreshes it.
   */
  async read(
    family: CacheFamily,
    target: string,
    ttlMs: number,
    noCache: boolean,
    load: () => Promise<CachedResponse>,
  ): Promise<CacheOutcome> {
    const key = await this.key(family, target);
    const entry = noCache ? undefined : await this.get(key);
    if (entry && entry.freshUntil > Date.now()) return { response: entry, cache: 'HIT' };
    try {
      const response = await this.coalesce(key, ttlMs, load);
      return { response, cache: noCache ? 'BYPASS' : 'MISS' };
    } catch (error) {
      if (entry && error instanceof UpstreamFailure) return { response: entry, cache: 'STALE' };
      throw error;
    }
  }

  /** After a successful write: every cached read of the family is gone, on every replica. */
  async invalidate(family: CacheFamily): Promise<void> {
    this.bumpLocal(family);
    if (!this.redis.available) return;
    try {
      await this.redis.run((client) => client.incr(this.generationKey(family)));
    } catch (error) {
      this.logger.warn(
        { family, err: String(error) },
        'cache invalidation not shared: redis failed',
      );
    }
  }

  private coalesce(key: string, ttlMs: number, load: () => Promise<CachedResponse>) {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = load()
        .then(async (response) => {
          await this.set(key, response, ttlMs);
          return response;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async key(family: CacheFamily, target: string): Promise<string> {
    if (this.redis.available) {
      try {
        const generation = await this.redis.run((client) => client.get(this.generationKey(family)));
        return `${this.redis.keyPrefix}cache:${family}:r${generation ?? 0}:${target}`;
      } catch {
        // fall through to this replica's own generation
      }
    }
    return `${this.redis.keyPrefix}cache:${family}:l${this.localGenerations.get(family) ?? 0}:${target}`;
  }

  private get(key: string): Promise<Entry | undefined> {
    return this.onStores((cache) => cache.get<Entry>(key));
  }

  private async set(key: string, response: CachedResponse, ttlMs: number): Promise<void> {
    const keepMs = ttlMs + this.staleMs;
    if (keepMs <= 0) return;
    const entry: Entry = {
      status: response.status,
      body: response.body,
      freshUntil: Date.now() + ttlMs,
    };
    await this.onStores((cache) => cache.set(key, entry, keepMs));
  }

  /** L1+Redis while Redis answers (bounded by REDIS_TIMEOUT_MS), else L1 alone. */
  private async onStores<T>(operation: (cache: Cache) => Promise<T>): Promise<T> {
    if (this.tiered && this.redis.available) {
      try {
        return await this.redis.run(() => operation(this.tiered as Cache));
      } catch {
        // Redis failed or was slow: this replica's memory answers instead.
      }
    }
    return operation(this.local);
  }

  private bumpLocal(family: CacheFamily): void {
    this.localGenerations.set(family, (this.localGenerations.get(family) ?? 0) + 1);
  }

  private generationKey(family: CacheFamily): string {
    return `${this.redis.keyPrefix}gen:${family}`;
  }
}
