import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Problem } from '../common/problem';
import type { RequestContext } from '../common/request-context';
import { type CallerConfig, CONFIG, type Config } from '../config/config';
import { WindowCounters } from '../limits/window-counters';
import { MetricsService } from '../metrics/metrics.service';
import type { ProxyRoute } from '../routes/route';

const BEARER = /^Bearer ([^\s]{1,4096})$/i;
const MAX_VERIFIED = 10_000;

/**
 * Who is calling and may they: token (sha256, constant-time), scope, then the caller's own
 * per-minute limit. Runs before validation, cache and upstream, so refusals cost nothing upstream.
 */
@Injectable()
export class CallerAuth {
  /**
   * Authorization headers already verified, so a caller's repeated requests skip the sha256 (a
   * measured 9% of a cache hit). Only verified headers are kept, bounded; unknown tokens always
   * take the full hash-and-compare path.
   */
  private readonly verified = new Map<string, CallerConfig>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly counters: WindowCounters,
    private readonly metrics: MetricsService,
  ) {}

  /** The configured caller whose token this is, comparing against every caller (no early exit). */
  authenticate(authorization: string | undefined): CallerConfig | undefined {
    if (authorization === undefined) return undefined;
    const known = this.verified.get(authorization);
    if (known) return known;
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) return undefined;
    const digest = createHash('sha256').update(token).digest();
    let found: CallerConfig | undefined;
    for (const caller of this.config.callers) {
      if (timingSafeEqual(digest, caller.tokenSha256)) found = caller;
    }
    if (found) {
      if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
      this.verified.set(authorization, found);
    }
    return found;
  }

  /**
   * The caller, once its token, scope and own limit allow this route; throws a Problem (401, 403,
   * 429) otherwise. `ctx.caller` is set as soon as the token is known, so the access log names a
   * caller refused for its scope or limit too.
   */
  async admit(
    authorization: string | undefined,
    route: ProxyRoute,
    ctx?: RequestContext,
  ): Promise<CallerConfig> {
    const caller = this.authenticate(authorization);
    if (ctx && caller) ctx.caller = caller;
    if (!caller) {
      throw new Problem(
        401,
        'Missing or unknown caller token: send Authorization: Bearer <token>.',
        [],
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    if (!caller.scopes.has(route.scope)) {
      throw new Problem(403, `Caller "${caller.id}" lacks the ${route.scope} scope.`);
    }
    if (caller.rateLimitPerMinute !== undefined) {
      const taken = await this.counters.take([
        { name: `caller:${caller.id}`, limit: caller.rateLimitPerMinute, windowMs: 60_000 },
      ]);
      if (!taken.allowed) {
        this.metrics.refused('caller');
        throw Problem.tooManyRequests(
          `Caller "${caller.id}" is over its limit of ${caller.rateLimitPerMinute} requests per minute.`,
          Math.ceil(taken.retryAfterMs / 1000),
        );
      }
    }
    return caller;
  }
}
