import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type LabelValues,
  Registry,
} from 'prom-client';
import type { CacheResult } from '../common/request-context';

export type CircuitState = 'closed' | 'half_open' | 'open';
const CIRCUIT_VALUES: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

const REFUSAL_LIMITS = ['caller', 'budget', 'upstream_429', 'upstream_action_429'] as const;
export type RefusalLimit = (typeof REFUSAL_LIMITS)[number];

/**
 * The service's version: package.json sits two levels above both src/metrics and dist/metrics.
 * The image's `org.opencontainers.image.version` label is the same version (the Dockerfile's ARG
 * VERSION, which test/deploy.spec.ts holds to package.json's).
 */
function serviceVersion(): string {
  try {
    return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * A prom-client Counter whose increments are counted in plain numbers (one map lookup each) and
 * handed to it when it is scraped: prom-client validates and hashes the label set on every inc(),
 * which was ~5% of a cache hit (measured with --cpu-prof). Its label sets must be bounded.
 */
class DeferredCounter<L extends string> {
  private readonly pending = new Map<string, { labels: LabelValues<L>; n: number }>();

  constructor(config: Omit<CounterConfiguration<L>, 'collect'>) {
    const pending = this.pending;
    new Counter<L>({
      ...config,
      collect() {
        for (const counted of pending.values()) {
          if (counted.n === 0) continue;
          this.inc(counted.labels, counted.n);
          counted.n = 0;
        }
      },
    });
  }

  /** `key` stands for the label set (one string, cheaper to look up than the labels). */
  inc(key: string, labels: LabelValues<L>): void {
    const counted = this.pending.get(key);
    if (counted) counted.n++;
    else this.pending.set(key, { labels, n: 1 });
  }
}

/**
 * bff_http_request_duration_seconds{method,route,tenant}: bucket counts kept per series in an array and
 * exported in prom-client's metric shape, registered on the same registry (prom-client's Histogram hashes the labels on every observe()).
 */
class RequestDurations {
  readonly name = 'bff_http_request_duration_seconds';
  readonly help = 'Time to answer a request, by method, route template and tenant.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<
    string,
    { method: string; route: string; tenant: string; buckets: number[]; sum: number; count: number }
  >();

  constructor(
    registry: Registry,
    private readonly bounds: number[],
  ) {
    registry.registerMetric(this as unknown as Histogram);
  }

  observe(method: string, route: string, tenant: string, seconds: number): void {
    const key = `${method} ${route} ${tenant}`;
    let series = this.series.get(key);
    if (!series) {
      series = { method, route, tenant, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    if (i < this.bounds.length) series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }

  /** Cumulative buckets, +Inf, sum and count, as prom-client's Histogram#get() shapes them. */
  get() {
    const values: Array<{
      labels: Record<string, string | number>;
      value: number;
      metricName: string;
    }> = [];
    for (const { method, route, tenant, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      buckets.forEach((n, i) => {
        cumulative += n;
        values.push({
          labels: { le: this.bounds[i], method, route, tenant },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { le: '+Inf', method, route, tenant },
        value: count,
        metricName: `${this.name}_bucket`,
      });
      values.push({
        labels: { method, route, tenant },
        value: sum,
        metricName: `${this.name}_sum`,
      });
      values.push({
        labels: { method, route, tenant },
        value: count,
        metricName: `${this.name}_count`,
      });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }

  reset(): void {
    this.series.clear();
  }
}

/**
 * Every Prometheus series of the service, on a registry of its own (two app instances in one
 * process never share counters). Labels are route templates and statuses only: never a raw
 * path, id, caller token or key.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** The per-request series: see DeferredCounter and RequestDurations. */
  private readonly httpRequests = new DeferredCounter({
    name: 'bff_http_requests_total',
    help: 'Requests answered, by method, route template, status, caller (a configured caller id; unknown: credentials that named no caller; none: no credentials) and tenant (none: not admitted to one).',
    labelNames: ['method', 'route', 'status', 'caller', 'tenant'] as const,
    registers: [this.registry],
  });
  private readonly durations = new RequestDurations(
    this.registry,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  private readonly cacheResults = new DeferredCounter({
    name: 'bff_cache_results_total',
    help: 'Cache outcome of /v1 GETs (HIT, MISS, STALE, BYPASS), by route template.',
    labelNames: ['route', 'result'] as const,
    registers: [this.registry],
  });
  private readonly upstreamRequests = new Counter({
    name: 'bff_upstream_requests_total',
    help: 'Calls made to PostHog, by method, route template, outcome (HTTP status, timeout, network) and tenant.',
    labelNames: ['method', 'route', 'status', 'tenant'] as const,
    registers: [this.registry],
  });
  private readonly upstreamDuration = new Histogram({
    name: 'bff_upstream_request_duration_seconds',
    help: 'Duration of calls to PostHog, by method, route template and tenant.',
    labelNames: ['method', 'route', 'tenant'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly circuit = new Gauge({
    name: 'bff_upstream_circuit_state',
    help: "A tenant's upstream circuit breaker: 0 closed, 1 half-open, 2 open.",
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  private readonly keyLoads = new Gauge({
    name: 'bff_posthog_key_loaded_timestamp_seconds',
    help: "When each tenant's PostHog API key was last loaded (at start-up, or re-read from its file).",
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'bff_rate_limit_refusals_total',
    help: "Requests refused for a limit: caller (its own per-minute limit), budget (deployment-wide upstream budget or caller share), upstream_429 (PostHog throttled the key: calls pause), upstream_action_429 (PostHog's own throttle of one action: that request only).",
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  private readonly credentialRejections = new Counter({
    name: 'bff_upstream_credential_rejections_total',
    help: "PostHog refused the BFF's personal API key (401: wrong or revoked; 403: a scope or its owner's role is missing). Any increase needs the operator.",
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly personalKeyRefusals = new Counter({
    name: 'bff_upstream_personal_key_refusals_total',
    help: 'PostHog answered "This action does not support personal API key access", by route: it refuses every personal key on these actions. Normal traffic, not a broken key.',
    labelNames: ['method', 'route'] as const,
    registers: [this.registry],
  });
  private readonly redisErrors = new Counter({
    name: 'bff_redis_errors_total',
    help: 'Redis operations that failed or timed out (the request was served without Redis).',
    registers: [this.registry],
  });
  /** Registered on first report, so the series is absent when Redis is not configured. */
  private redisUp?: Gauge;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'bff_build_info',
      help: 'Always 1; the labels say which build runs: the service version, the source revision and the Node.js version.',
      labelNames: ['version', 'revision', 'node_version'] as const,
      registers: [this.registry],
    }).set(
      {
        version: serviceVersion(),
        // Baked into the image by its build (the Dockerfile's ARG REVISION): a build fact, not
        // configuration, so it is not in the configuration schema.
        revision: process.env.BFF_REVISION || 'unknown',
        node_version: process.version,
      },
      1,
    );
    // Every refusal series exists from the start, so rate() and alerts see a 0 before the first.
    for (const limit of REFUSAL_LIMITS) this.refusals.labels(limit).inc(0);
    for (const status of ['401', '403']) this.credentialRejections.labels(status).inc(0);
  }

  /** `caller` is bounded: a configured caller id, `unknown` or `none`; `tenant` too (or `none`). */
  request(
    method: string,
    route: string,
    status: number,
    seconds: number,
    caller: string,
    tenant: string,
  ): void {
    this.httpRequests.inc(`${method} ${route} ${status} ${caller} ${tenant}`, {
      method,
      route,
      status: String(status),
      caller,
      tenant,
    });
    this.durations.observe(method, route, tenant, seconds);
  }

  cacheResult(route: string, result: CacheResult): void {
    this.cacheResults.inc(`${route} ${result}`, { route, result });
  }

  upstreamCall(
    method: string,
    route: string,
    outcome: string,
    seconds: number,
    tenant: string,
  ): void {
    this.upstreamRequests.labels(method, route, outcome, tenant).inc();
    this.upstreamDuration.labels(method, route, tenant).observe(seconds);
  }

  circuitState(tenant: string, state: CircuitState): void {
    this.circuit.labels(tenant).set(CIRCUIT_VALUES[state]);
  }

  /** Never the key, nor a hash of it: only when it was loaded. */
  keyLoaded(tenant: string): void {
    this.keyLoads.labels(tenant).set(Date.now() / 1000);
  }

  refused(limit: RefusalLimit): void {
    this.refusals.labels(limit).inc();
  }

  credentialRejected(status: number): void {
    this.credentialRejections.labels(String(status)).inc();
  }

  personalKeyRefused(method: string, route: string): void {
    this.personalKeyRefusals.labels(method, route).inc();
  }

  /**
   * bff_upstream_budget_used_ratio{window,tenant}: the share of each PostHog key's upstream budget
   * spent in the last minute / hour (1 = PostHog calls are being refused), read from `usage` at
   * scrape; `tenant` names the key's first tenant (tenants sharing a key share its budget).
   */
  budgetUsage(
    usage: () => Promise<Array<{ tenant: string } & Record<'minute' | 'hour', number>>>,
  ): void {
    new Gauge({
      name: 'bff_upstream_budget_used_ratio',
      help: "Share of a PostHog key's upstream budget (UPSTREAM_RATE_LIMIT_PER_MINUTE / _PER_HOUR, or the tenant's) spent in the last minute or hour, all replicas together when Redis is used.",
      labelNames: ['window', 'tenant'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const used of await usage()) {
          for (const window of ['minute', 'hour'] as const) {
            this.labels(window, used.tenant).set(used[window]);
          }
        }
      },
    });
  }

  redisError(): void {
    this.redisErrors.inc();
  }

  redisAvailable(up: boolean): void {
    this.redisUp ??= new Gauge({
      name: 'bff_redis_up',
      help: '1 when the configured Redis answers, 0 when it does not (absent when Redis is not configured).',
      registers: [this.registry],
    });
    this.redisUp.set(up ? 1 : 0);
  }
}
