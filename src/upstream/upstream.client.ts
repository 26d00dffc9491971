import type { Agent as HttpAgent } from 'node:http';
import { HttpService } from '@nestjs/axios';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AxiosError, AxiosResponse } from 'axios';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { RequestContext } from '../common/request-context';
import { CONFIG, type Config } from '../config/config';
import { RESTORING, WindowCounters, type WindowLimit } from '../limits/window-counters';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { actionThrottleOf, type ProxyRoute } from '../routes/route';
import { type Tenant, TenantRegistry } from '../tenants/tenant-registry';
import { endUpstreamSpan, startUpstreamSpan } from '../tracing/tracing';
import {
  networkDelivery,
  type OurAnswer,
  refusesPersonalKeys,
  toOurAnswer,
  transientFailure,
  type UpstreamAnswer,
  UpstreamFailure,
} from './posthog-answer';

export interface UpstreamCall {
  method: ProxyRoute['method'];
  /** Resolved PostHog path, always built from config and validated params. */
  path: string;
  /** Query pairs with PostHog's names, in canonical order. */
  query: Array<[string, string]>;
  body?: unknown;
}

/** axios's idle timeout (ECONNABORTED / ETIMEDOUT) and our AbortSignal.timeout (ERR_CANCELED). */
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ERR_CANCELED']);
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pause after PostHog throttled the key: one for the key, so for every replica (see pause()). */
/** The hold every replica checks while PostHog throttles one key (its key group). */
const keyPause = (group: string) => `upstream:pause:${group}`;

/**
 * THE PostHog client. Injects the one credential, bounds each attempt by UPSTREAM_TIMEOUT_MS,
 * retries idempotent reads with full-jitter backoff inside an overall deadline, runs every attempt
 * through the circuit breaker and the deployment-wide budget, and honours PostHog's Retry-After;
 * what PostHog answered is read by posthog-answer.ts. Nothing else in the service talks to PostHog.
 */
@Injectable()
export class UpstreamClient implements OnApplicationShutdown {
  /** Per tenant: PostHog failing one project never opens another's circuit. */
  private readonly circuits = new Map<string, Circuit>();
  /**
   * After PostHog throttled a key, no call with it leaves this replica before this time (ms
   * epoch), per key group (Tenant.keyGroup: PostHog counts per key): set by its own 429 or when
   * Redis says another replica got one (see pause()).
   */
  private readonly pausedUntil = new Map<string, number>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly http: HttpService,
    private readonly counters: WindowCounters,
    private readonly metrics: MetricsService,
    private readonly logger: AppLogger,
    tenants: TenantRegistry,
  ) {
    metrics.budgetUsage(async () => {
      const groups = new Map(
        tenants.names.map((name) => tenants.get(name) as Tenant).map((t) => [t.keyGroup(), t]),
      );
      return Promise.all(
        [...groups].map(async ([group, tenant]) => ({
          tenant: group,
          minute: (await counters.used(budgetName(group, 'minute'), 60_000)) / tenant.ratePerMinute,
          hour: (await counters.used(budgetName(group, 'hour'), 3_600_000)) / tenant.ratePerHour,
        })),
      );
    });
    for (const name of tenants.names) this.circuitOf(name);
  }

  /** The tenant's breaker, made on first use. */
  private circuitOf(tenant: string): Circuit {
    const known = this.circuits.get(tenant);
    if (known) return known;
    const { breakerCooldownMs, breakerThreshold } = this.config.upstream;
    const circuit: Circuit = {
      policy: circuitBreaker(
        handleWhen((e) => e instanceof UpstreamFailure && e.countsAgainstCircuit),
        { halfOpenAfter: breakerCooldownMs, breaker: new ConsecutiveBreaker(breakerThreshold) },
      ),
      openedAt: 0,
    };
    circuit.policy.onBreak(() => {
      circuit.openedAt = Date.now();
    });
    circuit.policy.onStateChange((state) => {
      const name =
        state === CircuitState.Closed
          ? 'closed'
          : state === CircuitState.HalfOpen
            ? 'half_open'
            : 'open';
      this.metrics.circuitState(tenant, name);
      if (name !== 'half_open') {
        this.logger.warn({ circuit: name, tenant }, `upstream circuit ${name}`);
      }
    });
    this.metrics.circuitState(tenant, 'closed');
    this.circuits.set(tenant, circuit);
    return circuit;
  }

  /** After the server has drained: close the keep-alive sockets to PostHog. */
  onApplicationShutdown(): void {
    const { httpAgent, httpsAgent } = this.http.axiosRef.defaults;
    (httpAgent as HttpAgent | undefined)?.destroy();
    (httpsAgent as HttpAgent | undefined)?.destroy();
  }

  /** Resolves with PostHog's answer in our shape; throws a Problem otherwise. */
  async request(call: UpstreamCall, route: ProxyRoute, ctx: RequestContext): Promise<OurAnswer> {
    const { retries, deadlineMs } = this.config.upstream;
    const deadline = Date.now() + deadlineMs;
    const tenant = ctx.tenant as Tenant; // every call is made for an admitted request's tenant
    const circuit = this.circuitOf(tenant.name);
    let answer: UpstreamAnswer;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.admit(ctx, tenant, circuit);
        answer = await circuit.policy.execute(() =>
          this.attempt(call, route, ctx, tenant, deadline),
        );
        break;
      } catch (error) {
        const failure = error instanceof BrokenCircuitError ? circuitOpen() : error;
        const retriable =
          attempt < retries && failure instanceof UpstreamFailure && failure.retriable(call.method);
        const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
        if (!retriable || Date.now() + delay >= deadline) throw failure;
        await sleep(delay);
      }
    }
    if (answer.status === 401 || answer.status === 403) this.reportRefusal(route, answer, ctx);
    return toOurAnswer(route, call.query, answer);
  }

  /**
   * A PostHog 401/403. An action PostHog refuses to every personal key is normal traffic, not a
   * broken key: logged at info with PostHog's reason and counted apart, so the broken-key alert
   * (bff_upstream_credential_rejections_total) fires only when the key itself is refused.
   */
  private reportRefusal(route: ProxyRoute, answer: UpstreamAnswer, ctx: RequestContext): void {
    const fields = { route: route.path, upstream_status: answer.status, request_id: ctx.requestId };
    if (refusesPersonalKeys(answer.status, answer.body)) {
      this.metrics.personalKeyRefused(route.method, route.path);
      this.logger.info(
        { ...fields, reason: 'This action does not support personal API key access' },
        'PostHog refuses personal API keys on this action',
      );
      return;
    }
    this.metrics.credentialRejected(answer.status);
    this.logger.error(
      fields,
      'PostHog refused the configured API key: fix POSTHOG_API_KEY or its scopes',
    );
  }

  /**
   * What may stop a call before it leaves, checked outside the breaker: a refusal here is no
   * evidence about PostHog, and cockatiel would take it for a successful half-open trial and close
   * the circuit. Order: PostHog's 429 pause as this replica knows it, an open circuit still cooling
   * down (so an outage does not spend budget), then the budget, whose take in Redis also checks the
   * pause set by any replica.
   */
  private async admit(ctx: RequestContext, tenant: Tenant, circuit: Circuit): Promise<void> {
    const now = Date.now();
    const pausedUntil = this.pausedUntil.get(tenant.keyGroup()) ?? 0;
    if (now < pausedUntil) throw this.paused(pausedUntil - now);
    if (
      circuit.policy.state === CircuitState.Open &&
      now - circuit.openedAt < this.config.upstream.breakerCooldownMs
    ) {
      throw circuitOpen();
    }
    await this.spendBudget(ctx, tenant);
  }

  /** One HTTP exchange with PostHog, run inside the breaker. */
  private async attempt(
    call: UpstreamCall,
    route: ProxyRoute,
    ctx: RequestContext,
    tenant: Tenant,
    deadline: number,
  ): Promise<UpstreamAnswer> {
    const now = Date.now();
    // Bounds the whole exchange: axios's `timeout` alone is a socket idle timeout, which an
    // upstream that trickles its answer never trips.
    const timeoutMs = Math.max(1, Math.min(this.config.upstream.timeoutMs, deadline - now));
    const started = process.hrtime.bigint();
    const traceHeaders = startUpstreamSpan(ctx, call.method, route.upstream);
    let response: AxiosResponse<string>;
    try {
      response = await this.http.axiosRef.request<string>({
        method: call.method,
        url: tenant.posthog.host + call.path,
        params: new URLSearchParams(call.query),
        data: call.body === undefined ? undefined : JSON.stringify(call.body),
        headers: {
          ...traceHeaders,
          authorization: tenant.authorization(),
          accept: 'application/json',
          'x-request-id': ctx.requestId,
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        timeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        maxRedirects: 0,
        responseType: 'text',
        transformResponse: (data) => data,
        validateStatus: () => true,
      });
    } catch (error) {
      const timedOut = TIMEOUT_CODES.has((error as AxiosError).code ?? '');
      this.record(route, ctx, timedOut ? 'timeout' : 'network', started);
      const code = timedOut ? 'timeout' : networkErrorCode(error);
      ctx.upstreamError = code;
      throw timedOut
        ? new UpstreamFailure('timeout', 504, 'PostHog did not answer in time.', 'unknown')
        : new UpstreamFailure('network', 502, 'PostHog is unreachable.', networkDelivery(code));
    }
    this.record(route, ctx, response.status, started);

    const answer: UpstreamAnswer = {
      status: response.status,
      headers: response.headers as Record<string, string | undefined>,
      body: typeof response.data === 'string' ? response.data : '',
    };
    const failure = transientFailure(answer, actionThrottleOf(route, call.query));
    if (failure?.kind === 'throttled') {
      await this.pause(tenant.keyGroup(), failure.retryAfterSeconds * 1000);
      this.metrics.refused('upstream_429');
    } else if (failure?.kind === 'action-throttled') {
      this.metrics.refused('upstream_action_429'); // this request only: nothing pauses
    }
    if (failure) throw failure;
    return answer;
  }

  /** One upstream call spends one unit of the deployment-wide budget (and of the caller's share). */
  private async spendBudget(ctx: RequestContext, tenant: Tenant): Promise<void> {
    const { ratePerMinute, ratePerHour } = tenant;
    const { callerShare } = this.config.upstream;
    const group = tenant.keyGroup();
    const limits: WindowLimit[] = [
      { name: budgetName(group, 'minute'), limit: ratePerMinute, windowMs: 60_000 },
      { name: budgetName(group, 'hour'), limit: ratePerHour, windowMs: 3_600_000 },
    ];
    if (callerShare < 1 && ctx.caller) {
      limits.push({
        name: `upstream-share:${group}:${ctx.caller.id}`,
        limit: Math.max(1, Math.floor(ratePerMinute * callerShare)),
        windowMs: 60_000,
      });
    }
    const pause = keyPause(group);
    const taken = await this.counters.take(limits, Date.now(), [pause, RESTORING]);
    if (!taken.allowed && taken.refusedBy === pause) {
      this.pauseHere(group, taken.retryAfterMs); // another replica's: kept here, no need to ask Redis
      throw this.paused(taken.retryAfterMs);
    }
    if (!taken.allowed) {
      this.metrics.refused('budget');
      const detail =
        taken.refusedBy === RESTORING
          ? 'The upstream request budget is being restored; retry shortly.'
          : taken.refusedBy.startsWith('upstream-share')
            ? "This caller's share of the upstream request budget is spent; retry later."
            : 'The upstream request budget is spent; retry later.';
      throw UpstreamFailure.throttled(detail, taken.retryAfterMs / 1000, 'budget', 'not-sent');
    }
  }

  /**
   * PostHog throttled the key, which every replica shares: no call leaves this replica, nor any
   * replica through Redis (the budget's take checks the pause), before PostHog's wait is over.
   * Without Redis, or while it does not answer, the pause is this replica's alone.
   */
  private async pause(group: string, ms: number): Promise<void> {
    this.pauseHere(group, ms);
    await this.counters.pause(keyPause(group), ms);
  }

  private pauseHere(group: string, ms: number): void {
    this.pausedUntil.set(group, Math.max(this.pausedUntil.get(group) ?? 0, Date.now() + ms));
  }

  /** A call refused by the pause: 429 with the pause's remaining wait. */
  private paused(ms: number): UpstreamFailure {
    this.metrics.refused('upstream_429');
    return UpstreamFailure.throttled(
      'PostHog is throttling the BFF; retry later.',
      ms / 1000,
      'throttled',
      'not-sent',
    );
  }

  private record(
    route: ProxyRoute,
    ctx: RequestContext,
    outcome: number | string,
    started: bigint,
  ) {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    endUpstreamSpan(ctx, outcome);
    ctx.upstreamStatus = typeof outcome === 'number' ? outcome : undefined;
    ctx.upstreamMs = Math.round(ms * 100) / 100;
    const tenant = ctx.tenant?.name ?? 'none';
    this.metrics.upstreamCall(route.method, route.path, String(outcome), ms / 1000, tenant);
  }
}

/** A tenant's circuit breaker, and when it last opened (ms epoch). */
interface Circuit {
  policy: CircuitBreakerPolicy;
  openedAt: number;
}

/** The budget windows of one PostHog key (its key group). */
const budgetName = (group: string, window: 'minute' | 'hour') => `upstream:${group}:${window}`;

const circuitOpen = () =>
  new UpstreamFailure(
    'circuit-open',
    502,
    'PostHog is failing; the circuit is open. Retry shortly.',
    'not-sent',
  );

/**
 * The cause of a failed exchange as a bare error code (ECONNREFUSED, ENOTFOUND, ECONNRESET,
 * EPROTO, CERT_HAS_EXPIRED...), for the access line: never a message, which could quote a URL.
 */
function networkErrorCode(error: unknown): string {
  const { code, cause } = error as AxiosError & { cause?: { code?: unknown } };
  const found = typeof cause?.code === 'string' ? cause.code : code;
  return typeof found === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(found) ? found : 'unknown';
}
