import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppLogger } from '../logging/app-logger';
import { RedisService } from '../redis/redis.service';

/** "At most `limit` takes in any `windowMs`", counted under `name`. */
export interface WindowLimit {
  name: string;
  limit: number;
  windowMs: number;
}

export type TakeResult =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; refusedBy: string };

/**
 * The hold the counters set on the fleet when Redis turned out to have forgotten the windows, while
 * the replicas put back what they knew (see restore()). A take lists it among its holds to be
 * refused meanwhile: the upstream budget does; a caller's own limit need not.
 */
export const RESTORING = '!restoring';

/**
 * How long the fleet spends nothing through Redis after a replica restored what it knew: longer than
 * the longest wait between two reconnection attempts (2 s, RedisService), so every running replica
 * is back and has restored its knowledge before the restored windows are trusted.
 */
const RESTORE_HOLD_MS = 3000;

/** The epoch of the windows ('!': a name no limit or pause uses). */
const EPOCH = '!epoch';
/** The replicas that took through Redis in the last minute. */
const REPLICAS = '!replicas';

/** Clocks of replicas differ a little: a take this close to leaving its window is not looked for. */
const CLOCK_MARGIN_MS = 1000;

/** Lua: `hold(key, ms)` keeps the later of the key's deadline and now + ms (Redis's own clock). */
const HOLD_LUA = `
local function hold(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('SET', key, '1', 'PX', ms) end
end
`;

// A sliding-window log per limit (a sorted set of take times), the way PostHog's own throttles
// (DRF's SimpleRateThrottle) count: "at most N in any window", not "N per clock minute", which
// would let 2N through around a minute boundary. All-or-nothing across several limits: nothing is
// counted unless every one has room, so a refused request never spends budget. First, whether
// Redis forgot (the epoch is not the one this replica knows, or a take of this replica that is
// still in its window is gone: restore() before taking), then the holds (each refuses while it lasts).
// Each take also notes its replica in the replicas set (the last key), so every replica knows how
// many share the windows (see takeLocal).
// KEYS: epoch, holds_1..h, one sorted set per limit, the replicas set. ARGV: now, member, epoch
// known ('' none), h, then per limit: limit, windowMs, this replica's last member in it ('' none);
// last, this replica's id.
// Returns {-1} when Redis forgot, {-1 - j, ms left} while hold j lasts, else {0 when taken or the
// index of the first full limit, ms until a slot frees, the replicas seen in the last minute, then
// each limit's count after the take}.
const TAKE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[3] then return {-1} end
local now = tonumber(ARGV[1])
local h = tonumber(ARGV[4])
local n = #KEYS - 2 - h
redis.call('ZADD', KEYS[#KEYS], now, ARGV[#ARGV])
redis.call('ZREMRANGEBYSCORE', KEYS[#KEYS], '-inf', now - 60000)
redis.call('PEXPIRE', KEYS[#KEYS], 60000)
local replicas = redis.call('ZCARD', KEYS[#KEYS])
for i = 1, n do
  local mine = ARGV[4 + 3 * i]
  if mine ~= '' and not redis.call('ZSCORE', KEYS[1 + h + i], mine) then return {-1} end
end
for j = 1, h do
  local left = redis.call('PTTL', KEYS[1 + j])
  if left > 0 then return {-1 - j, left} end
end
local counts = {}
local full, wait = 0, 0
for i = 1, n do
  local key = KEYS[1 + h + i]
  local window = tonumber(ARGV[3 + 3 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  counts[i] = redis.call('ZCARD', key)
  if full == 0 and counts[i] >= tonumber(ARGV[2 + 3 * i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    full, wait = i, tonumber(oldest[2]) + window - now
  end
end
if full == 0 then
  for i = 1, n do
    redis.call('ZADD', KEYS[1 + h + i], now, ARGV[2])
    redis.call('PEXPIRE', KEYS[1 + h + i], ARGV[3 + 3 * i])
    counts[i] = counts[i] + 1
  end
end
return {full, wait, replicas, unpack(counts)}`;

// Sets the epoch if there is none. When Redis forgot (as in TAKE_SCRIPT), every count this replica
// saw goes back as `count` placeholders `floor:1..count` stamped when it was seen (a placeholder
// put back by several replicas keeps the latest stamp), and the restoring hold is renewed.
// KEYS: epoch, the restoring hold, one sorted set per limit seen. ARGV: new epoch, epoch known
// ('' none), hold ms, now, then per limit: seen at, count, windowMs, last member ('' none).
// Returns {the epoch, 1 when Redis forgot else 0}.
const RESTORE_SCRIPT = `${HOLD_LUA}
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[1])
local forgot = ARGV[2] ~= '' and ARGV[2] ~= epoch
for i = 3, #KEYS do
  local mine = ARGV[4 * i - 4]
  if mine ~= '' and not redis.call('ZSCORE', KEYS[i], mine) then forgot = true end
end
if not forgot then return {epoch, 0} end
hold(KEYS[2], tonumber(ARGV[3]))
local now = tonumber(ARGV[4])
for i = 3, #KEYS do
  local at, count = tonumber(ARGV[4 * i - 7]), tonumber(ARGV[4 * i - 6])
  local left = at + tonumber(ARGV[4 * i - 5]) - now
  for k = 1, count do
    local stamp = redis.call('ZSCORE', KEYS[i], 'floor:' .. k)
    if not stamp or tonumber(stamp) < at then redis.call('ZADD', KEYS[i], at, 'floor:' .. k) end
  end
  if redis.call('PTTL', KEYS[i]) < left then redis.call('PEXPIRE', KEYS[i], left) end
end
return {epoch, 1}`;

// KEYS: the hold. ARGV: ms.
const PAUSE_SCRIPT = `${HOLD_LUA}
hold(KEYS[1], tonumber(ARGV[1]))`;

interface LocalLog {
  windowMs: number;
  /** Take times (ms epoch), oldest first. */
  stamps: number[];
  /** The fleet's count (Seen.at) this log was seeded with, if any. */
  seededAt?: number;
  /** Takes counted here while a configured Redis did not answer: added to Redis once it does. */
  offline: number[];
}

/** What this replica's takes through Redis saw of one limit's window. */
interface Seen {
  windowMs: number;
  /** The window ending `at` held `count` takes (after the take at `at`, if allowed). */
  at: number;
  count: number;
  /** This replica's last allowed take, while Redis should still hold it. */
  mine?: { member: string; at: number };
}

/**
 * Sliding-window limits shared by every replica through Redis (one atomic Lua call), or kept in
 * process memory when Redis is not configured or not answering (each replica then counts alone).
 * Serves the per-caller limit and the deployment-wide upstream budget, and holds: a take may name
 * holds (pause(), RESTORING) that refuse it on every replica while they last.
 *
 * Redis forgetting (a restart without persistence, a failover to a replica that lagged, an
 * eviction) would tell the fleet that nothing was spent, while PostHog still counts every call of
 * its window. Every take detects it: the epoch (written with SET NX) is not the one this replica
 * knows, or a take of this replica that is still in its window is gone (a failover keeps the
 * epoch but loses the last writes). The replica then restores what it saw, which provably bounds
 * what PostHog counts: its last take saw `count` calls in the window ending `at`, so of all calls
 * made up to `at`, at most `count` can be in any window ending later, and none after `at + window`.
 * They go back as `count` placeholders stamped `at`: the same members on every replica, so the
 * restored count is the largest one seen that is still valid (not a sum), and it leaves the window
 * when the last of those calls could. Calls made after the latest `at` of all replicas do not
 * exist, as long as every replica that called restores before the restored windows are trusted:
 * the RESTORING hold, renewed by each replica that restores, refuses the upstream budget for
 * RESTORE_HOLD_MS, and a replica restores as soon as it reconnects. So the windows never count
 * fewer calls than PostHog does; for up to one window (the minute, the hour) they count more: that
 * is the conservative part. Not covered: a replica that stopped between the others' last take and
 * the loss (its calls of that moment are unknown), and, as ever, replicas that count alone while
 * Redis does not answer them.
 */
@Injectable()
export class WindowCounters {
  private readonly local = new Map<string, LocalLog>();
  /** Per limit name: restored if Redis forgets. */
  private readonly seen = new Map<string, Seen>();
  /** The epoch of the windows this replica counts in ('' before its first take through Redis). */
  private epoch = '';
  private restoring?: Promise<void>;
  private lastSweep = 0;
  private sequence = 0;
  private readonly instance = randomBytes(6).toString('hex');
  /** Replicas that took through Redis in the last minute (this one included), as Redis last said. */
  private fleetSize = 1;

  constructor(
    private readonly redis: RedisService,
    private readonly logger: AppLogger,
  ) {
    if (!redis.configured) return;
    // Back after a restart or failover: restore at once rather than at this replica's next take,
    // so that it happens within the others' hold.
    redis.onAvailabilityChange((up) => {
      if (up)
        this.restore()
          .then(() => this.replayOffline())
          .catch(() => undefined);
    });
  }

  /**
   * Takes one from every limit, or none. `holds`: names of holds (pause(), RESTORING) that refuse
   * the take while they last; checked in Redis only (a replica keeps its own pauses too).
   */
  async take(limits: WindowLimit[], now = Date.now(), holds: string[] = []): Promise<TakeResult> {
    if (limits.length === 0) return { allowed: true };
    if (this.redis.available) {
      try {
        return await this.takeShared(limits, now, holds);
      } catch {
        // Redis failed mid-request: count locally rather than refuse or fail the request.
      }
    }
    const [full, waitMs] = this.takeLocal(limits, now);
    return this.result(limits, full, waitMs);
  }

  /**
   * Holds every take that names `name` for `ms` from now (Redis's clock), on every replica, unless
   * it is held longer already. Best effort: without Redis the caller's own pause is all there is.
   */
  async pause(name: string, ms: number): Promise<void> {
    if (!this.redis.available) return;
    await this.redis
      .run((client) =>
        client.eval(PAUSE_SCRIPT, { keys: [this.key(name)], arguments: [String(Math.ceil(ms))] }),
      )
      .catch(() => undefined);
  }

  /** Takes counted under `name` within the last `windowMs` (shared through Redis when it answers). */
  async used(name: string, windowMs: number, now = Date.now()): Promise<number> {
    if (this.redis.available) {
      try {
        return await this.redis.run((client) =>
          client.zCount(this.key(name), `(${now - windowMs}`, '+inf'),
        );
      } catch {
        // as take(): fall back to this replica's own count
      }
    }
    return this.local.get(name)?.stamps.filter((t) => t > now - windowMs).length ?? 0;
  }

  /**
   * The Redis key of a limit, hold or the epoch: the one place key names are made. One hash tag
   * for all of them: a take's script names the epoch, its holds and its limits, and a restore every
   * limit this replica has seen, so on a Redis Cluster they must all live in one slot.
   */
  private key(name: string): string {
    return `${this.redis.keyPrefix}{rl}:${name}`;
  }

  private async takeShared(
    limits: WindowLimit[],
    now: number,
    holds: string[],
  ): Promise<TakeResult> {
    this.sweep(now);
    // Redis forgot: restore, then take; forgetting again at once counts locally (take() catches).
    for (let attempt = 0; attempt < 2; attempt++) {
      const member = `${now}:${this.instance}:${this.sequence++}`;
      const reply = await this.redis.run((client) =>
        client.eval(TAKE_SCRIPT, {
          keys: [EPOCH, ...holds, ...limits.map((l) => l.name), REPLICAS].map((name) =>
            this.key(name),
          ),
          arguments: [
            String(now),
            member,
            this.epoch,
            String(holds.length),
            ...limits.flatMap((l) => [String(l.limit), String(l.windowMs), this.mine(l.name, now)]),
            this.instance,
          ],
        }),
      );
      const [code, waitMs, replicas, ...counts] = (reply as unknown[]).map(Number);
      if (code < -1) {
        return { allowed: false, retryAfterMs: Math.max(1, waitMs), refusedBy: holds[-code - 2] };
      }
      if (code >= 0) {
        this.fleetSize = Math.max(1, replicas);
        limits.forEach(({ name, windowMs }, i) => {
          const mine = code === 0 ? { member, at: now } : this.seen.get(name)?.mine;
          this.seen.set(name, { windowMs, at: now, count: counts[i], mine });
        });
        return this.result(limits, code, waitMs);
      }
      await this.restore(now);
    }
    throw new Error('redis keeps forgetting the rate-limit windows');
  }

  /**
   * This replica's last take in a limit's window, to be checked in Redis; '' when there is none or
   * it is about to leave the window (a replica with a faster clock may already have dropped it).
   */
  private mine(name: string, now: number): string {
    const seen = this.seen.get(name);
    if (!seen?.mine || seen.mine.at + seen.windowMs - now < CLOCK_MARGIN_MS) return '';
    return seen.mine.member;
  }

  /** Learns the epoch and, when Redis forgot, restores what this replica saw (one run at a time). */
  private restore(now = Date.now()): Promise<void> {
    this.restoring ??= this.restoreSeen(now).finally(() => {
      this.restoring = undefined;
    });
    return this.restoring;
  }

  private async restoreSeen(now: number): Promise<void> {
    const seen = [...this.seen].filter(([, s]) => s.at + s.windowMs > now);
    const reply = await this.redis.run((client) =>
      client.eval(RESTORE_SCRIPT, {
        keys: [EPOCH, RESTORING, ...seen.map(([name]) => name)].map((name) => this.key(name)),
        arguments: [
          randomBytes(6).toString('hex'),
          this.epoch,
          String(RESTORE_HOLD_MS),
          String(now),
          ...seen.flatMap(([name, s]) => [
            ...[s.at, s.count, s.windowMs].map(String),
            this.mine(name, now),
          ]),
        ],
      }),
    );
    const [epoch, forgot] = reply as [string, number];
    this.epoch = epoch;
    if (!forgot) return;
    // Those takes are gone: not to be looked for again.
    for (const s of this.seen.values()) s.mine = undefined;
    this.logger.warn(
      { limits: seen.length, hold_ms: RESTORE_HOLD_MS },
      'redis lost the rate-limit windows: restored the counts this replica last saw',
    );
  }

  /**
   * Counts in this replica's memory: without Redis, its own takes; while a configured Redis does
   * not answer, conservatively for the fleet: the window starts from the count Redis last showed
   * (Seen) and this replica spends at most its share (1 / the replicas Redis last counted) of what
   * was left, so the replicas together stay within the limit; its takes are added to Redis when it
   * answers again (replayOffline).
   */
  private takeLocal(limits: WindowLimit[], now: number): [number, number] {
    this.sweep(now);
    const shared = this.redis.configured;
    const bounds = limits.map((limit) => {
      let log = this.local.get(limit.name);
      if (!log || log.windowMs !== limit.windowMs) {
        log = { windowMs: limit.windowMs, stamps: [], offline: [] };
        this.local.set(limit.name, log);
      }
      const seen = shared ? this.seen.get(limit.name) : undefined;
      const fleet = seen && seen.at > now - limit.windowMs ? seen : undefined;
      if (fleet && log.seededAt !== fleet.at) {
        log.seededAt = fleet.at;
        log.stamps = [...Array(fleet.count).fill(fleet.at), ...log.stamps].sort((a, b) => a - b);
      }
      const expired = log.stamps.findIndex((t) => t > now - limit.windowMs);
      log.stamps.splice(0, expired === -1 ? log.stamps.length : expired);
      const cap = fleet
        ? fleet.count + Math.floor(Math.max(0, limit.limit - fleet.count) / this.fleetSize)
        : limit.limit;
      return { log, cap };
    });
    for (let i = 0; i < limits.length; i++) {
      const { log, cap } = bounds[i];
      if (log.stamps.length >= cap) {
        return [i + 1, Math.max(1, log.stamps[0] + limits[i].windowMs - now)];
      }
    }
    for (const { log } of bounds) {
      log.stamps.push(now);
      if (shared) log.offline.push(now);
    }
    return [0, 0];
  }

  /** Adds the takes this replica counted alone while Redis did not answer (unique members). */
  private async replayOffline(now = Date.now()): Promise<void> {
    for (const [name, log] of this.local) {
      const stamps = log.offline.filter((t) => t > now - log.windowMs);
      log.offline = [];
      if (stamps.length === 0) continue;
      const members = stamps.map((t, i) => ({
        score: t,
        value: `${t}:${this.instance}:offline:${i}`,
      }));
      await this.redis.run((client) => client.zAdd(this.key(name), members)).catch(() => undefined);
    }
  }

  private result(limits: WindowLimit[], full: number, waitMs: number): TakeResult {
    if (full === 0) return { allowed: true };
    const window = limits[full - 1];
    // Clocks of replicas differ a little: keep the wait within (0, window].
    const retryAfterMs = Math.min(window.windowMs, Math.max(1, waitMs));
    return { allowed: false, retryAfterMs, refusedBy: window.name };
  }

  /** Drops logs and seen counts with nothing left in their window, at most once a minute. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [name, log] of this.local) {
      const newest = log.stamps[log.stamps.length - 1];
      if (newest === undefined || newest <= now - log.windowMs) this.local.delete(name);
    }
    for (const [name, seen] of this.seen) {
      if (seen.at + seen.windowMs <= now) this.seen.delete(name);
    }
  }
}
