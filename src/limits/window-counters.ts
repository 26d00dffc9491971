import { Injectable } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';

/** "At most `limit` takes per fixed window of `windowMs`", counted under `name`. */
export interface WindowLimit {
  name: string;
  limit: number;
  windowMs: number;
}

export type TakeResult =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; refusedBy: string };

// All-or-nothing across several windows: nothing is counted unless every window has room, so a
// refused request never spends budget. Returns the 1-based index of the first full window, or 0.
const TAKE_SCRIPT = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then return i end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[#KEYS + i]) end
end
return 0`;

/**
 * Fixed-window counters shared by every replica through Redis (one atomic Lua call), or kept in
 * process memory when Redis is not configured or not answering. Serves both the per-caller limit
 * and the deployment-wide upstream budget.
 */
@Injectable()
export class WindowCounters {
  private readonly local = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = 0;

  constructor(private readonly redis: RedisService) {}

  async take(limits: WindowLimit[], now = Date.now()): Promise<TakeResult> {
    const keys = limits.map((l) => `${l.name}:${Math.floor(now / l.windowMs)}`);
    if (this.redis.available) {
      try {
        const full = await this.redis.run((client) =>
          client.eval(TAKE_SCRIPT, {
            keys: keys.map((k) => `${this.redis.keyPrefix}rl:${k}`),
            arguments: [
              ...limits.map((l) => String(l.limit)),
              ...limits.map((l) => String(l.windowMs)),
            ],
          }),
        );
        return this.result(limits, Number(full), now);
      } catch {
        // Redis failed mid-request: count locally rather than refuse or fail the request.
      }
    }
    return this.result(limits, this.takeLocal(limits, keys, now), now);
  }

  private takeLocal(limits: WindowLimit[], keys: string[], now: number): number {
    this.sweep(now);
    for (let i = 0; i < keys.length; i++) {
      const entry = this.local.get(keys[i]);
      if (entry && entry.expiresAt > now && entry.count >= limits[i].limit) return i + 1;
    }
    keys.forEach((key, i) => {
      const entry = this.local.get(key);
      if (entry && entry.expiresAt > now) entry.count++;
      else this.local.set(key, { count: 1, expiresAt: now + limits[i].windowMs });
    });
    return 0;
  }

  private result(limits: WindowLimit[], full: number, now: number): TakeResult {
    if (full === 0) return { allowed: true };
    const window = limits[full - 1];
    const windowEnd = (Math.floor(now / window.windowMs) + 1) * window.windowMs;
    return { allowed: false, retryAfterMs: windowEnd - now, refusedBy: window.name };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, entry] of this.local) if (entry.expiresAt <= now) this.local.delete(key);
  }
}
