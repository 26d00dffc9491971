import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type Keyv from 'keyv';
import { Counter, Gauge } from 'prom-client';
import type { CachedResponse } from '../common/answer';
import { BoundedMemo } from '../common/bounded-memo';
import type { CacheResult } from '../common/request-context';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import type { TenantFamily } from '../routes/route';
import { UpstreamFailure } from '../upstream/posthog-answer';
import { Generations } from './generations';
import { MemoryStore } from './memory-store';

export type { CachedResponse };

interface Entry extends CachedResponse {
  freshUntil: number;
  ttlMs: number;
  /** How to fetch this entry again (L1 only: functions are not serialised to Redis). */
  refresh?: Loader;
}

type Loader = () => Promise<CachedResponse>;

/**
 * The string as one flat sequence of characters. A key built by concatenation is a tree of
 * pieces (a cons string per piece, each holding its parts) that V8 keeps as long as the entry
 * lives: about 300 bytes per entry more than the characters themselves.
 */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** How often a replica waiting on another's load looks for the entry it stores. */
const FLEET_POLL_MS = 20;

// Releases a load lock only if it is still this holder's (it may have expired and been taken).
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A hit in the last tenth of an entry's freshness refreshes it in the background (one call per
 * deployment: replicas sharing Redis claim the refresh, the others then read the new copy from
 * Redis when theirs expires), so a hot entry is renewed before it expires: no stampede, no caller
 * waiting at expiry, and what is served is still within CACHE_TTL_SECONDS. Idle entries expire.
 */
const REFRESH_AHEAD_FRACTION = 0.1;

export interface CacheOutcome {
  response: CachedResponse;
  cache: CacheResult;
}

/** One request's first look at the cache; read() continues from it without looking again. */
export interface Lookup {
  /** The upstream target looked up (the caller's cache key, before family and generation). */
  readonly target: string;
  /** The fresh answer, when there is one: serve it as a HIT. */
  readonly hit?: CachedResponse;
  /** The key in the tiers: prefix, family, generation, target. */
  readonly key: string;
  /** Whether the entry lives in Redis too (the current generation came from Redis). */
  readonly shared: boolean;
  /** The caller's Cache-Control: no-cache: stored data was not read (BYPASS). */
  readonly noCache: boolean;
  /** The generation was confirmed (Generation.confirmed): cached entries may be answered. */
  readonly confirmed: boolean;
  /** The shared copy past its freshness, found in Redis: a STALE answer when PostHog fails. */
  readonly staleShared?: CachedResponse;
}

/** Where an entry lives: its key, and whether in Redis too. */
type Slot = Pick<Lookup, 'key' | 'shared'>;

/**
 * Read-through cache for proxied GETs on cache-manager's tiers (ResponseCacheModule): L1 in
 * process, then, with Redis configured, Redis shared by the replicas. Both tiers keep an entry for
 * its freshness (CACHE_TTL_SECONDS), so an expired L1 copy sends the read to Redis, where a copy
 * another replica stored may be fresh, before PostHog. L1 also keeps expired copies for
 * CACHE_STALE_SECONDS to answer STALE when PostHog fails. Keys carry the family's generation
 * (see Generations). Identical concurrent misses share one upstream call.
 *
 * cache-manager's wrap() reads and loads in one call; here the look happens right after caller
 * admission and the load after validation. So a look reads the tiers (cache-manager's `stores`,
 * each a Keyv) in order, as wrap() does, copying a Redis find into L1 (get() would not); a load
 * stores through set(), into both tiers at once.
 */
@Injectable()
export class ResponseCache {
  /** L1 (this replica's memory) and, with Redis, L2: the Keyv tiers of `tiers`. */
  private readonly local: Keyv;
  private readonly shared?: Keyv;
  private readonly generations: Generations;
  private readonly inflight = new Map<string, Promise<CachedResponse>>();
  private readonly staleMs: number;
  /** How long a fleet load may hold its lock, and how long another replica waits on it. */
  private readonly fleet: { lockMs: number; waitMs: number };
  /** See keyOf. */
  private readonly keys = new BoundedMemo<{ family: TenantFamily; tag: string; key: string }>();

  constructor(
    @Inject(CACHE_MANAGER) tiers: Cache,
    /** L1's store, which also keeps expired copies for STALE answers. */
    private readonly memory: MemoryStore,
    private readonly redis: RedisService,
    logger: AppLogger,
    metrics: MetricsService,
    @Inject(CONFIG) config: Config,
  ) {
    [this.local, this.shared] = tiers.stores;
    this.generations = new Generations(
      redis,
      logger,
      () => this.memory.clear(),
      config.cache.coherenceMs,
    );
    this.staleMs = config.cache.staleMs;
    this.fleet = { lockMs: config.upstream.deadlineMs, waitMs: config.upstream.timeoutMs };
    registerGauges(metrics, this.memory);
  }

  /**
   * Reads the family's current generation and the tiers, once per request: a fresh entry is a HIT
   * (and may start a refresh ahead of expiry); otherwise read() loads from here.
   */
  async lookup(family: TenantFamily, target: string, noCache = false): Promise<Lookup> {
    const current = this.generations.current(family);
    const generation = current instanceof Promise ? await current : current;
    const key = this.keyOf(family, generation.tag, target);
    const { shared, confirmed } = generation;
    const found = noCache || !confirmed ? undefined : await this.find(key, shared);
    const fresh = found && found.freshUntil > Date.now() ? found : undefined;
    if (fresh) this.refreshAhead(key, shared, fresh);
    return {
      target,
      key,
      shared,
      noCache,
      confirmed,
      hit: fresh,
      staleShared: fresh ? undefined : found,
    };
  }

  /**
   * The key in the tiers, remembered per target while its generation holds: a new string per
   * hit would be hashed again by every map it is looked up in. Bounded in count and length;
   * started afresh when full.
   */
  private keyOf(family: TenantFamily, tag: string, target: string): string {
    const known = this.keys.get(target);
    if (known?.tag === tag && known.family === family) return known.key;
    const key = flat(`${this.redis.keyPrefix}cache:${family}:${tag}:${target}`);
    this.keys.set(target, { family, tag, key });
    return key;
  }

  /**
   * Answers from the lookup's fresh entry (HIT), else from PostHog through `load` (MISS, shared by
   * identical concurrent misses; BYPASS for no-cache), else, when PostHog failed transiently, from
   * this replica's expired copy within CACHE_STALE_SECONDS (STALE). `refresh` is kept with the
   * entry to renew it ahead of expiry, detached from this request.
   */
  async read(lookup: Lookup, ttlMs: number, load: Loader, refresh?: Loader): Promise<CacheOutcome> {
    if (lookup.hit) return { response: lookup.hit, cache: 'HIT' };
    return this.outcomeOf(lookup, () => this.coalesce(lookup, ttlMs, load, refresh));
  }

  /**
   * The outcome of an identical load already in flight on this replica, as read() would give it
   * (STALE on failure included): a request waiting for it can be answered before it is validated
   * (its key is the one the validated request that started the load built). Undefined when none.
   */
  inFlight(lookup: Lookup): Promise<CacheOutcome> | undefined {
    const pending = this.inflight.get(lookup.key);
    return pending && this.outcomeOf(lookup, () => pending);
  }

  private async outcomeOf(
    lookup: Lookup,
    response: () => Promise<CachedResponse>,
  ): Promise<CacheOutcome> {
    try {
      return { response: await response(), cache: lookup.noCache ? 'BYPASS' : 'MISS' };
    } catch (error) {
      const kept = !lookup.noCache && lookup.confirmed;
      // This replica's expired copy, else the shared one (a replica started during an outage).
      const stale = kept ? (this.memory.stale<Entry>(lookup.key) ?? lookup.staleShared) : undefined;
      if (stale && error instanceof UpstreamFailure) return { response: stale, cache: 'STALE' };
      throw error;
    }
  }

  /** After a successful write: every cached read of the family is gone, on every replica. */
  invalidate(family: TenantFamily): Promise<void> {
    return this.generations.bump(family);
  }

  /**
   * L1, then Redis for a shared generation (bounded by REDIS_TIMEOUT_MS; a Redis that fails or is
   * slow is a miss). A fresh Redis find is copied into L1 for the rest of its freshness; Redis keeps
   * a copy CACHE_STALE_SECONDS past it, which comes back expired (lookup() tells them apart).
   */
  private async find(key: string, shared: boolean): Promise<Entry | undefined> {
    const local = await this.local.get<Entry>(key);
    if (local || !shared || !this.shared) return local;
    const found = await this.shared.get<Entry>(key).catch(() => undefined);
    const remaining = found ? found.freshUntil - Date.now() : 0;
    if (found && remaining > 0) await this.local.set(key, found, remaining);
    return found;
  }

  /**
   * One load per key for the whole fleet: a short lock in Redis (SET NX PX). The holder loads and
   * stores; the others look for the entry it stores (bounded polling) and answer it; a holder that
   * fails or dies releases or lets its lock expire, and one waiter takes over. Nobody waits longer
   * than the upstream timeout, then it loads itself; without Redis, this replica loads alone.
   */
  private async fleetOnce(key: string, loadAndStore: Loader): Promise<CachedResponse> {
    const lock = `${key}:load`;
    const token = `${process.pid}:${Math.random()}`;
    const waitUntil = Date.now() + this.fleet.waitMs;
    for (;;) {
      let held: boolean;
      try {
        const set = await this.redis.run((c) =>
          c.set(lock, token, {
            condition: 'NX',
            expiration: { type: 'PX', value: this.fleet.lockMs },
          }),
        );
        held = set === 'OK';
      } catch {
        return loadAndStore(); // Redis failed: this replica loads alone
      }
      if (held) {
        try {
          return await loadAndStore();
        } finally {
          await this.redis
            .run((c) => c.eval(RELEASE_SCRIPT, { keys: [lock], arguments: [token] }))
            .catch(() => undefined); // it expires anyway
        }
      }
      const stored = await this.awaitShared(key, lock, waitUntil);
      if (stored) return stored;
      if (Date.now() >= waitUntil) return loadAndStore();
      // The holder is gone without an entry: take over (one waiter wins the lock).
    }
  }

  /** The entry another replica's load stores, while its lock lasts and until `deadline`. */
  private async awaitShared(
    key: string,
    lock: string,
    deadline: number,
  ): Promise<CachedResponse | undefined> {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, FLEET_POLL_MS));
      try {
        const [seen, holder] = await Promise.all([
          this.shared?.get<Entry>(key),
          this.redis.run((c) => c.exists(lock)),
        ]);
        // The holder stores, then releases: it may have done both between these two reads, so
        // a lock found gone is checked for its entry once more before anyone loads again.
        const entry = seen ?? (holder ? undefined : await this.shared?.get<Entry>(key));
        if (entry && entry.freshUntil > Date.now()) {
          await this.local.set(key, entry, entry.freshUntil - Date.now());
          return { status: entry.status, body: entry.body };
        }
        if (!holder) return undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  private refreshAhead(key: string, shared: boolean, entry: Entry): void {
    const remaining = entry.freshUntil - Date.now();
    const refresh = entry.refresh;
    if (!refresh || remaining > entry.ttlMs * REFRESH_AHEAD_FRACTION) return;
    if (this.inflight.has(key)) return;
    const slot = { key, shared };
    void this.claimRefresh(slot, remaining).then((claimed) => {
      if (claimed) this.coalesce(slot, entry.ttlMs, refresh, refresh).catch(() => undefined);
    });
  }

  /**
   * One replica refreshes a shared entry: an atomic SET NX (not a cache-manager call: a claim must
   * be atomic across replicas), expiring with the entry. Without Redis, this replica alone does.
   */
  private async claimRefresh(lookup: Slot, remainingMs: number) {
    if (!lookup.shared) return true;
    try {
      const px = Math.max(1, Math.ceil(remainingMs));
      const claimed = await this.redis.run((c) =>
        c.set(`${lookup.key}:refresh`, '1', {
          condition: 'NX',
          expiration: { type: 'PX', value: px },
        }),
      );
      return claimed === 'OK';
    } catch {
      return false;
    }
  }

  private coalesce(
    lookup: Slot,
    ttlMs: number,
    load: Loader,
    refresh?: Loader,
  ): Promise<CachedResponse> {
    let pending = this.inflight.get(lookup.key);
    if (!pending) {
      const loadAndStore = async () => {
        const response = await load();
        await this.store(lookup, response, ttlMs, refresh);
        return response;
      };
      const once =
        lookup.shared && ttlMs > 0 ? this.fleetOnce(lookup.key, loadAndStore) : loadAndStore();
      pending = once.finally(() => this.inflight.delete(lookup.key));
      this.inflight.set(lookup.key, pending);
    }
    return pending;
  }

  /** Both tiers for shared generations (L1 alone when Redis fails or is slow), else L1. */
  private async store(
    lookup: Slot,
    response: CachedResponse,
    ttlMs: number,
    refresh?: Loader,
  ): Promise<void> {
    const entry: Entry = {
      status: response.status,
      body: response.body,
      freshUntil: Date.now() + ttlMs,
      ttlMs,
      refresh,
    };
    if (ttlMs <= 0) return this.memory.keepStale(lookup.key, entry);
    await this.local.set(lookup.key, entry, ttlMs);
    // Redis keeps it past its freshness, CACHE_STALE_SECONDS longer: the fleet's STALE copy.
    if (lookup.shared && this.shared) {
      await this.shared.set(lookup.key, entry, ttlMs + this.staleMs).catch(() => undefined);
    }
  }
}

/** The in-process tier's size, in bff_cache_entries / bff_cache_bytes / bff_cache_evictions_total. */
function registerGauges(metrics: MetricsService, memory: MemoryStore): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'bff_cache_entries',
    help: 'Entries held in this replica’s in-process cache (fresh, or kept for stale answers).',
    registers,
    collect() {
      this.set(memory.entries);
    },
  });
  new Gauge({
    name: 'bff_cache_bytes',
    help: 'Approximate bytes held in this replica’s in-process cache (bodies plus overhead).',
    registers,
    collect() {
      this.set(memory.bytes);
    },
  });
  let counted = 0;
  new Counter({
    name: 'bff_cache_evictions_total',
    help: 'Entries pushed out of the in-process cache to stay within CACHE_MAX_ENTRIES / CACHE_MAX_BYTES.',
    registers,
    collect() {
      this.inc(memory.evictions - counted);
      counted = memory.evictions;
    },
  });
}
