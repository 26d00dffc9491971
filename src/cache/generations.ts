import { randomBytes } from 'node:crypto';
import type { AppLogger } from '../logging/app-logger';
import type { RedisService } from '../redis/redis.service';
import type { TenantFamily } from '../routes/route';

/** Which entries of a family are current: part of every cache key. */
export interface Generation {
  /** `<epoch>.<n>` (shared through Redis) or `L<local epoch>.<n>` (this replica's own). */
  tag: string;
  /** Whether entries under this tag live in Redis too (false: this replica's memory only). */
  shared: boolean;
  /**
   * Whether entries under it may be answered (HIT or STALE): Redis confirmed it within
   * CACHE_COHERENCE_MS, or Redis is not configured (this replica's numbers are the truth). False
   * while a configured Redis does not answer: another replica's write would go unseen.
   */
  confirmed: boolean;
}

const newEpoch = () => randomBytes(6).toString('hex');

/**
 * Cache generations: a write bumps its family's number, which makes every older entry of the family
 * unreachable at once (keys carry the number), on every replica, since each read asks Redis.
 *
 * Redis may forget (a restart without persistence, an eviction, a flush) and would then count from
 * 0 again, reviving keys of entries stored before earlier writes. So the numbers live in one hash
 * beside a random epoch written with HSETNX: whatever Redis forgot, the epoch is new, every key
 * under the old epoch is unreachable, and this replica drops its in-process copies (onNewEpoch).
 * The hash has no TTL, so `volatile-*` eviction policies never pick it, and it is read on every
 * request, so LRU/LFU policies pick it last.
 *
 * These are hash commands on the service's connection, not cache-manager calls: an increment
 * must be atomic across replicas (read-modify-write through a key-value store would lose bumps).
 *
 * While Redis does not answer (down, or slower than REDIS_TIMEOUT_MS), this replica keys entries
 * by its own numbers (restarted whenever Redis comes or goes) and keeps them in its memory only:
 * its own writes still invalidate at once, and are pushed to Redis as soon as it answers again.
 */
export class Generations {
  private readonly key: string;
  private readonly local = new Map<TenantFamily, number>();
  private readonly localTags = new Map<TenantFamily, Generation>();
  private localEpoch = newEpoch();
  /** Families written while Redis could not be told: their Redis number is behind. */
  private readonly unshared = new Set<TenantFamily>();
  private sharing?: Promise<void>;
  /** Shared generations as Redis last confirmed them, and when (ms epoch). */
  private readonly confirmed = new Map<TenantFamily, { generation: Generation; at: number }>();
  /** Whether the last read went to Redis (false: this replica's own numbers). */
  private sharedMode = false;
  private epoch?: string;

  constructor(
    private readonly redis: RedisService,
    private readonly logger: AppLogger,
    /** Called when Redis turned out to have forgotten the generations. */
    private readonly onNewEpoch: () => void,
    /** CACHE_COHERENCE_MS: how long a confirmation from Redis holds (0: confirm every answer). */
    private readonly coherenceMs = 0,
  ) {
    this.key = `${redis.keyPrefix}generations`;
    if (!redis.configured) return;
    // Redis came or went: entries under this replica's own numbers may predate writes made
    // elsewhere meanwhile, so those start afresh; writes made here are shared now.
    redis.onAvailabilityChange((up) => {
      this.restartLocal();
      if (up) void this.shareMissed();
    });
  }

  /** The family's current generation; synchronous while Redis is not in use (no round trip). */
  current(family: TenantFamily): Generation | Promise<Generation> {
    if (!this.redis.configured) return this.localGeneration(family);
    const known = this.confirmed.get(family);
    // Within the coherence bound, the last confirmation holds: no Redis round trip per answer.
    if (known && Date.now() - known.at < this.coherenceMs) return known.generation;
    return this.redis.available ? this.currentShared(family) : this.unconfirmed(family);
  }

  private async currentShared(family: TenantFamily): Promise<Generation> {
    if (this.unshared.size > 0) await this.shareMissed();
    if (!this.unshared.has(family)) {
      try {
        const [epoch, n] = await this.readShared(family);
        this.sharedMode = true;
        this.noteEpoch(epoch);
        const generation = { tag: `${epoch}.${n ?? 0}`, shared: true, confirmed: true };
        this.confirmed.set(family, { generation, at: Date.now() });
        return generation;
      } catch {
        this.leaveSharedMode(); // Redis too slow: this replica's own numbers instead
      }
    }
    return this.unconfirmed(family);
  }

  /**
   * Redis configured but not confirming: this replica's own numbers key what it loads, and nothing
   * cached is answered (another replica's write would go unseen) until Redis answers again.
   */
  private unconfirmed(family: TenantFamily): Generation {
    return { ...this.localGeneration(family), confirmed: false };
  }

  /** This replica's own generation of a family: one object until a bump or a restart. */
  private localGeneration(family: TenantFamily): Generation {
    let generation = this.localTags.get(family);
    if (!generation) {
      generation = {
        tag: `L${this.localEpoch}.${this.local.get(family) ?? 0}`,
        shared: false,
        confirmed: true,
      };
      this.localTags.set(family, generation);
    }
    return generation;
  }

  /**
   * After a successful write. When Redis cannot be told now, this replica keeps to its own number
   * for the family (so it never serves an entry older than the write) and tells Redis later.
   */
  async bump(family: TenantFamily): Promise<void> {
    this.local.set(family, (this.local.get(family) ?? 0) + 1);
    this.localTags.delete(family);
    this.confirmed.delete(family); // this replica's own write: seen at once
    if (this.redis.configured && !(await this.bumpShared(family))) this.unshared.add(family);
  }

  private async readShared(family: TenantFamily): Promise<[string, string | null]> {
    const [epoch, n] = await this.redis.run((c) => c.hmGet(this.key, ['epoch', family]));
    if (epoch) return [epoch, n];
    // A new (or forgotten) hash: the first replica to get here sets the epoch, all read it back.
    const [, read] = await this.redis.run((c) =>
      c.multi().hSetNX(this.key, 'epoch', newEpoch()).hmGet(this.key, ['epoch', family]).exec(),
    );
    const [set, count] = read as unknown as [string, string | null];
    return [set, count];
  }

  private async bumpShared(family: TenantFamily): Promise<boolean> {
    if (!this.redis.available) return false;
    try {
      await this.redis.run((c) =>
        c.multi().hSetNX(this.key, 'epoch', newEpoch()).hIncrBy(this.key, family, 1).exec(),
      );
      return true;
    } catch (error) {
      this.logger.warn(
        { family, err: String(error) },
        'cache invalidation not shared yet: redis failed; retried when it answers',
      );
      return false;
    }
  }

  private noteEpoch(epoch: string): void {
    if (epoch === this.epoch) return;
    const forgotten = this.epoch !== undefined;
    this.epoch = epoch;
    if (!forgotten) return;
    this.confirmed.clear();
    this.logger.warn({}, 'redis lost the cache generations (new epoch): cached entries dropped');
    this.onNewEpoch();
  }

  /** Bumps in Redis the numbers of families written while it was away (one flush at a time). */
  private shareMissed(): Promise<void> {
    this.sharing ??= this.bumpUnshared().finally(() => {
      this.sharing = undefined;
    });
    return this.sharing;
  }

  private async bumpUnshared(): Promise<void> {
    for (const family of [...this.unshared]) {
      if (!(await this.bumpShared(family))) return;
      this.unshared.delete(family);
    }
  }

  /** Redis too slow after answering: back to this replica's own numbers, started afresh. */
  private leaveSharedMode(): void {
    if (this.sharedMode) this.restartLocal();
  }

  private restartLocal(): void {
    this.confirmed.clear();
    this.sharedMode = false;
    this.localEpoch = newEpoch();
    this.local.clear();
    this.localTags.clear();
  }
}
