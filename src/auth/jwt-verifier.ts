import { readFile } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import type { JWTVerifyGetKey } from 'jose';
import { CONFIG, type Config, type JwtConfig } from '../config/config';
import { AppLogger } from '../logging/app-logger';

/** Asymmetric only: `none` and HMAC (which would take the public key for a shared secret) never. */
const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_SKEW_SECONDS = 30;

/** jose, loaded only when JWT callers are configured (it costs ~10 MB of memory otherwise idle). */
const jose = () => require('jose') as typeof import('jose');
/** Least time between two JWKS reads caused by an unknown `kid` (a key rotation). */
const JWKS_COOLDOWN_MS = 1000;
const JWKS_MAX_AGE_MS = 10 * 60_000;

const JWKS_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** A compact JWS: three base64url parts (the last empty for `alg: none`). */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export interface VerifiedJwt {
  subject: string;
  /** `exp`, in ms since the epoch. */
  expiresAt: number;
}

/**
 * Service-account callers (e.g. Kubernetes projected tokens): a JWT whose signature verifies
 * against the configured JWKS, with the configured issuer and audience, within its exp/nbf.
 * jose does the verification; the key set is cached and read again when a token names a `kid`
 * it does not hold (key rotation).
 */
@Injectable()
export class JwtVerifier {
  private readonly keys?: JWTVerifyGetKey;
  private readonly jwt?: JwtConfig;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly logger: AppLogger,
  ) {
    this.jwt = config.jwt;
    if (!this.jwt) return;
    this.keys = this.jwt.jwksUrl
      ? jose().createRemoteJWKSet(new URL(this.jwt.jwksUrl), {
          cooldownDuration: JWKS_COOLDOWN_MS,
          cacheMaxAge: JWKS_MAX_AGE_MS,
        })
      : fileKeySet(this.jwt.jwksFile as string);
  }

  /** Whether this token is for JWT verification at all (JWT callers configured, JWS shape). */
  applies(token: string): boolean {
    return this.keys !== undefined && COMPACT_JWS.test(token);
  }

  /** The token's subject and expiry when it verifies, else undefined (the reason logged, never the token). */
  async verify(token: string): Promise<VerifiedJwt | undefined> {
    if (!this.keys || !this.jwt) return undefined;
    try {
      const { payload } = await jose().jwtVerify(token, this.keys, {
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      return { subject: payload.sub as string, expiresAt: (payload.exp as number) * 1000 };
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERR_UNKNOWN';
      // The JWKS itself failing is the operator's problem; a bad token is the caller's.
      const unavailable = !(error instanceof jose().errors.JOSEError) || JWKS_FAILURES.has(code);
      this.logger[unavailable ? 'warn' : 'debug'](
        { reason: code, message: (error as Error).message },
        unavailable ? 'JWKS unavailable: JWT callers are refused' : 'caller JWT refused',
      );
      return undefined;
    }
  }
}

/**
 * A JWKS read from a file, read again (at most once per cooldown) when a token names a key the
 * last read did not hold.
 */
function fileKeySet(path: string): JWTVerifyGetKey {
  let content: string | undefined;
  let keys: JWTVerifyGetKey | undefined;
  let readAt = 0;
  const load = async () => {
    readAt = Date.now();
    const next = await readFile(path, 'utf8');
    if (next !== content) {
      keys = jose().createLocalJWKSet(JSON.parse(next));
      content = next;
    }
  };
  return async (header, token) => {
    if (!keys) await load();
    try {
      return await (keys as JWTVerifyGetKey)(header, token);
    } catch (error) {
      if (
        !(error instanceof jose().errors.JWKSNoMatchingKey) ||
        Date.now() - readAt < JWKS_COOLDOWN_MS
      ) {
        throw error;
      }
      await load();
      return (keys as JWTVerifyGetKey)(header, token);
    }
  };
}
