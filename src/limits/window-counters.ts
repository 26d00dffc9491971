import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
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

// A sliding-window log per limit (a sorted set of take times), the way PostHog's own throttles
// (DRF's SimpleRateThrottle) count: "at most N in any window", not "N per clock minute", which
// would let 2N through around a minute boundary. All-or-nothing across several limits: nothing is
// counted unless every one has room, so a refused request never spends budget.
// KEYS: one sorted set per limit, all in one hash slot (see keyOf). ARGV: now, member,
// limit_1..n, windowMs_1..n.
// Returns {0, 0} when taken, else {index of the first full limit, ms until a slot frees}.
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local window = tonumber(ARGV[2 + n + i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], ARGV[2 + n + i])
end
return {0, 0}`;

/**
 * In a Redis Cluster all keys of one script must be in one hash slot: a limit's key has its name's
 * first word as hash tag, so limits taken together share that word (the budget's upstream:minute,
 * upstream:hour and upstream-share:<caller> are all in `{upstream}`'s slot).
 */
const hashTag = (name: string) => name.split(/[^A-Za-z0-9]/, 1)[0];

interface LocalLog {
  windowMs: number;
  /** Take times (ms epoch), oldest first. */
  stamps: number[];
}

/**
 * Sliding-window limits shared by every replica through Redis (one atomic Lua call), or kept in
 * process memory when Redis is not configured or not answering (each replica then counts alone).
 * Serves both the per-caller limit and the deployment-wide upstream budget.
 */
@Injectable()
export class WindowCounters {
  private readonly local = new Map<string, LocalLog>();
  private lastSweep = 0;
  private sequence = 0;
  private readonly instance = randomBytes(6).toString('hex');

  constructor(private readonly redis: RedisService) {}

  async take(limits: WindowLimit[], now = Date.now()): Promise<TakeResult> {
    if (limits.length === 0) return { allowed: true };
    if (new Set(limits.map((l) => hashTag(l.name))).size > 1) {
      throw new Error(
        `limits taken together must share their first word: ${limits.map((l) => l.name)}`,
      );
    }
    if (this.redis.available) {
      try {
        const reply = await this.redis.run((client) =>
          client.eval(TAKE_SCRIPT, {
            keys: limits.map((l) => this.keyOf(l.name)),
            arguments: [
              String(now),
              `${now}:${this.instance}:${this.sequence++}`,
              ...limits.map((l) => String(l.limit)),
              ...limits.map((l) => String(l.windowMs)),
            ],
          }),
        );
        const [full, waitMs] = reply as [number, number];
        return this.result(limits, Number(full), Number(waitMs));
      } catch {
        // Redis failed mid-request: count locally rather than refuse or fail the request.
      }
    }
    const [full, waitMs] = this.takeLocal(limits, now);
    return this.result(limits, full, waitMs);
  }

  /** Takes counted under `name` within the last `windowMs` (shared through Redis when it answers). */
  async used(name: string, windowMs: number, now = Date.now()): Promise<number> {
    if (this.redis.available) {
      try {
        return await this.redis.run((client) =>
          client.zCount(this.keyOf(name), `(${now - windowMs}`, '+inf'),
        );
      } catch {
        // as take(): fall back to this replica's own count
      }
    }
    return this.local.get(name)?.stamps.filter((t) => t > now - windowMs).length ?? 0;
  }

  /** The limit's sorted set: `<prefix>rl:{upstream}:minute` for upstream:minute. */
  private keyOf(name: string): string {
    const tag = hashTag(name);
    return `${this.redis.keyPrefix}rl:{${tag}}${name.slice(tag.length)}`;
  }

  private takeLocal(limits: WindowLimit[], now: number): [number, number] {
    this.sweep(now);
    const logs = limits.map((limit) => {
      let log = this.local.get(limit.name);
      if (!log || log.windowMs !== limit.windowMs) {
        log = { windowMs: limit.windowMs, stamps: [] };
        this.local.set(limit.name, log);
      }
      const expired = log.stamps.findIndex((t) => t > now - limit.windowMs);
      log.stamps.splice(0, expired === -1 ? log.stamps.length : expired);
      return log;
    });
    for (let i = 0; i < limits.length; i++) {
      if (logs[i].stamps.length >= limits[i].limit) {
        return [i + 1, logs[i].stamps[0] + limits[i].windowMs - now];
      }
    }
    for (const log of logs) log.stamps.push(now);
    return [0, 0];
  }

  private result(limits: WindowLimit[], full: number, waitMs: number): TakeResult {
    if (full === 0) return { allowed: true };
    const window = limits[full - 1];
    // Clocks of replicas differ a little: keep the wait within (0, window].
    const retryAfterMs = Math.min(window.windowMs, Math.max(1, waitMs));
    return { allowed: false, retryAfterMs, refusedBy: window.name };
  }

  /** Drops logs with nothing left in their window, at most once a minute. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [name, log] of this.local) {
      const newest = log.stamps[log.stamps.length - 1];
      if (newest === undefined || newest <= now - log.windowMs) this.local.delete(name);
    }
  }
}
