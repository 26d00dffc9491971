import { Inject, Injectable } from '@nestjs/common';
import type { CachedResponse } from '../cache/response-cache';
import { Problem } from '../common/problem';
import type { RequestContext } from '../common/request-context';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { RedisService } from '../redis/redis.service';
import type { ProxyRoute } from '../routes/route';
import type { Delivery } from '../upstream/posthog-answer';

/** What a write acted on: ids and kind only, never a body field that could carry a secret. */
export interface AuditTarget {
  integration_id?: string;
  organization_integration_id?: string;
  role_reference_id?: string;
  kind?: string;
}

/** One write that reached PostHog, as logged (`msg: "audit"`) and kept in the Redis stream. */
export interface AuditRecord {
  time: string;
  request_id: string;
  caller?: string;
  /** The JWT subject, for a service-account caller. */
  subject?: string;
  /** The tenant (PostHog project) written to. */
  tenant?: string;
  method: string;
  route: string;
  target: AuditTarget;
  /** PostHog's status; null when it did not answer (then `upstream_error` says why). */
  upstream_status: number | null;
  /** `timeout`, or the connection error code (the write may or may not have happened). */
  upstream_error?: string;
  /** For a create PostHog accepted: the new object's id. */
  created_id?: string;
}

export interface AuditPage {
  items: Array<AuditRecord & { id: string }>;
  next_before: string | null;
}

/** Entries read per Redis call while looking for one caller's records. */
const SCAN_BATCH = 500;
/** Bound on the entries one page request reads when filtering by caller. */
const MAX_SCAN = 10_000;

/**
 * The audit trail of writes: PostHog's own activity log names only the key's owner; the BFF is
 * the one place that knows the real caller. Each record is a log line and, with Redis, an entry
 * of a capped stream (`<prefix>audit`, XADD MAXLEN ~ AUDIT_MAX_RECORDS) that GET /v1/audit reads.
 */
@Injectable()
export class AuditTrail {
  private readonly key: string;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly logger: AppLogger,
    private readonly redis: RedisService,
  ) {
    this.key = `${redis.keyPrefix}audit`;
  }

  /**
   * Records a write that reached PostHog: answered, refused, or left without an answer (a timeout
   * or a connection cut after sending may still have changed something). A write that was not sent
   * (validation, budget, open circuit, a connection never made) changed nothing and is not
   * recorded. Never throws: the write has happened, its answer must go out.
   */
  async write(
    route: ProxyRoute,
    input: { params?: object; body?: object },
    ctx: RequestContext,
    response: CachedResponse | undefined,
    delivery: Delivery,
  ): Promise<void> {
    if (delivery === 'not-sent') return;
    const record: AuditRecord = {
      time: new Date().toISOString(),
      request_id: ctx.requestId,
      caller: ctx.caller?.id,
      subject: ctx.caller?.subject,
      tenant: ctx.tenant?.name,
      method: route.method,
      route: route.path,
      target: targetOf(route, input),
      upstream_status: ctx.upstreamStatus ?? null,
      upstream_error: ctx.upstreamStatus === undefined ? ctx.upstreamError : undefined,
      created_id: route.method === 'POST' ? createdId(response) : undefined,
    };
    this.logger.audit(record);
    // During a Redis outage (logged once by RedisService) the record is in the log only.
    if (!this.redis.available) return;
    try {
      await this.redis.run((client) =>
        client.xAdd(
          this.key,
          '*',
          { record: JSON.stringify(record) },
          {
            TRIM: {
              strategy: 'MAXLEN',
              strategyModifier: '~',
              threshold: this.config.audit.maxRecords,
            },
          },
        ),
      );
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, request_id: ctx.requestId },
        'audit record not stored in Redis (it is in the log)',
      );
    }
  }

  /** Newest first, strictly older than `before` (a stream id), only `caller`'s when given. */
  async page(limit: number, before?: string, caller?: string): Promise<AuditPage> {
    if (!this.redis.configured) {
      throw new Problem(503, 'The audit trail is kept in Redis: REDIS_URL is not configured.');
    }
    const items: AuditPage['items'] = [];
    let from = before === undefined ? '+' : `(${before}`;
    let scanned = 0;
    for (;;) {
      const count = caller === undefined ? limit - items.length + 1 : SCAN_BATCH;
      const batch = await this.read(from, count);
      for (const entry of batch) {
        scanned++;
        const record = JSON.parse(entry.message.record) as AuditRecord;
        if (caller !== undefined && record.caller !== caller) continue;
        // One more than asked for shows whether an older page exists.
        if (items.length === limit) return { items, next_before: items[limit - 1].id };
        items.push({ id: entry.id, ...record });
      }
      if (batch.length < count) return { items, next_before: null };
      from = `(${batch[batch.length - 1].id}`;
      // Filtering by caller reads a bounded part of the stream per page; the caller goes on from here.
      if (scanned >= MAX_SCAN) return { items, next_before: batch[batch.length - 1].id };
    }
  }

  private async read(from: string, count: number) {
    try {
      return await this.redis.run((client) =>
        client.xRevRange(this.key, from, '-', { COUNT: count }),
      );
    } catch {
      throw new Problem(
        503,
        'Redis, where the audit trail is kept, is not answering; retry later.',
        [],
        { 'retry-after': '5' },
        'audit-unavailable',
      );
    }
  }
}

function targetOf(route: ProxyRoute, input: { params?: object; body?: object }): AuditTarget {
  const id = (input.params as { id?: unknown } | undefined)?.id;
  const body = (input.body ?? {}) as Record<string, unknown>;
  const target: AuditTarget = {};
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  if (route.path.startsWith('/v1/organization/integrations')) {
    target.organization_integration_id = text(id);
  } else if (route.path.startsWith('/v1/role-external-references')) {
    target.role_reference_id = text(id);
  } else if (route.path.startsWith('/v1/integrations')) {
    target.integration_id = text(id) ?? text(body.integration_id);
  }
  // A create names its kind; a kind-aware helper route acts only on integrations of its kind.
  const kind = typeof body.kind === 'string' ? body.kind : route.kind;
  if (kind !== undefined) target.kind = kind;
  return target;
}

/**
 * The id of what a POST created or linked: PostHog answers create with 201 and the object,
 * github/link_existing with 200 and the (upserted) integration; other POSTs answer no `id`.
 */
function createdId(response: CachedResponse | undefined): string | undefined {
  if (response?.status !== 201 && response?.status !== 200) return undefined;
  try {
    const id = (JSON.parse(response.body.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  } catch {
    return undefined;
  }
}
