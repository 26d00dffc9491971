import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Problem } from '../common/problem';
import type { RequestContext } from '../common/request-context';
import type { CallerConfig } from '../config/config';
import { WindowCounters } from '../limits/window-counters';
import { MetricsService } from '../metrics/metrics.service';
import type { ProxyRoute } from '../routes/route';
import { TenantRegistry } from '../tenants/tenant-registry';
import { CallerRegistry } from './caller-registry';
import { JwtVerifier } from './jwt-verifier';

const BEARER = /^Bearer ([^\s]{1,4096})$/i;
const MAX_VERIFIED = 10_000;

interface Verified {
  caller: CallerConfig;
  /** JWTs only: no longer admitted from memory after their `exp` (ms epoch). */
  expiresAt?: number;
}

/**
 * Who is calling and may they: a configured token (sha256, constant-time) or a service-account
 * JWT, then scope, then the caller's own per-minute limit. Runs before validation, cache and
 * upstream, so refusals cost nothing upstream.
 */
@Injectable()
export class CallerAuth {
  /**
   * Authorization headers already verified, so a caller's repeated requests skip the sha256 (a
   * measured 9% of a cache hit) or the signature check. Only verified headers are kept, bounded,
   * and all forgotten when the callers in force change (a rotated-out token stops at once).
   */
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly registry: CallerRegistry,
    private readonly jwt: JwtVerifier,
    private readonly counters: WindowCounters,
    private readonly metrics: MetricsService,
    private readonly tenants: TenantRegistry,
  ) {
    registry.onChange(() => this.verified.clear());
  }

  /** The caller, when known without waiting: a header verified before, or a configured token. */
  private authenticate(authorization: string | undefined): CallerConfig | undefined {
    if (authorization === undefined) return undefined;
    const known = this.verified.get(authorization);
    if (known) {
      if (known.expiresAt === undefined || Date.now() < known.expiresAt) return known.caller;
      this.verified.delete(authorization);
    }
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) return undefined;
    const caller = this.registry.byTokenDigest(createHash('sha256').update(token).digest());
    if (caller) this.remember(authorization, { caller });
    return caller;
  }

  /** The caller named by a JWT that verifies and whose subject is configured (admit's slow path). */
  private async identifyByJwt(authorization: string): Promise<CallerConfig | undefined> {
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined || !this.jwt.applies(token)) return undefined;
    const verified = await this.jwt.verify(token);
    const bySubject = verified && this.registry.bySubject(verified.subject);
    if (!verified || !bySubject) return undefined;
    this.remember(authorization, { caller: bySubject, expiresAt: verified.expiresAt });
    return bySubject;
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
    /** The tenant the path names (`/v1/tenants/:tenant/...`); else the caller's default. */
    tenant?: string,
  ): Promise<CallerConfig> {
    // A token seen before or configured needs no await; only a JWT seen first waits.
    const caller =
      this.authenticate(authorization) ??
      (authorization === undefined ? undefined : await this.identifyByJwt(authorization));
    if (ctx && caller) ctx.caller = caller;
    if (!caller) {
      if (ctx && authorization !== undefined) ctx.unknownCaller = true;
      throw new Problem(
        401,
        'Missing or unknown caller token: send Authorization: Bearer <token> (a configured token or a service-account JWT).',
        [],
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    // Right after authentication, before anything else: a tenant cannot be probed by scope.
    const admitted = this.tenants.admit(caller, tenant);
    if (ctx) ctx.tenant = admitted;
    if (route.scope !== undefined && !caller.scopes.has(route.scope)) {
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

  private remember(authorization: string, verified: Verified): void {
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    this.verified.set(authorization, verified);
  }
}
