import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { CallerConfig } from '../auth/callers-config';
import { Problem } from '../common/problem';
import { rememberSecret } from '../common/secrets';
import { parseOrRefuse, readText, WatchedFile } from '../common/watched-file';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { parseTenantsFile, type TenantConfig } from './tenants-config';

/** One PostHog project as a request uses it: where it goes, with which key, on which budget. */
export interface Tenant {
  readonly name: string;
  readonly posthog: TenantConfig['posthog'];
  readonly ratePerMinute: number;
  readonly ratePerHour: number;
  /** `Bearer <key>`, with the key as last loaded. */
  authorization(): string;
  /**
   * Whose budget and key-throttle pause this tenant spends: the first tenant holding the same key
   * (PostHog counts per key, so tenants sharing a key share them).
   */
  keyGroup(): string;
}

/** A personal API key: as configured, or read from a file and re-read when it changes. */
class PostHogKey {
  private value = '';
  private file?: WatchedFile;

  constructor(
    private readonly tenant: string,
    source: TenantConfig['apiKey'],
    private readonly registry: TenantRegistry,
  ) {
    if ('value' in source) {
      this.load(source.value);
      return;
    }
    const initial = readText(source.file);
    this.load(initial?.trim() ?? '');
    this.file = new WatchedFile(source.file, initial, (content) => {
      const key = content?.trim();
      if (!key || /\s/.test(key)) {
        registry.keyRefused(tenant, content === undefined ? 'unreadable' : 'empty or malformed');
        return;
      }
      this.load(key);
      registry.keyLoaded(tenant, true);
    }).start();
  }

  get current(): string {
    return this.value;
  }

  stop(): void {
    this.file?.stop();
  }

  /** The tests' way to skip the poll's wait. */
  poll(): Promise<void> {
    return this.file?.poll() ?? Promise.resolve();
  }

  private load(value: string): void {
    rememberSecret(value);
    this.value = value;
    this.registry.keyLoaded(this.tenant, false);
  }
}

/**
 * The tenants in force (BFF_TENANTS_FILE as last read, or the one `default` tenant of the POSTHOG_*
 * variables), their keys, and which tenant a request may use. A tenants file or key file that
 * changes is re-read within 10 s; an invalid tenants file, or an empty or unreadable key file, is
 * refused with an error line and what is in force stays.
 */
@Injectable()
export class TenantRegistry implements OnApplicationShutdown {
  private tenants = new Map<string, Tenant>();
  /** The tenants of a caller without a list of its own: the first configured (built once). */
  private firstOnly: readonly string[] = [];
  private keys = new Map<string, PostHogKey>();
  /** Each tenant's key group, worked out again whenever a key or the tenants change. */
  private groups = new Map<string, string>();
  private readonly file?: WatchedFile;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {
    this.use(config.tenants);
    const path = config.tenantsFile;
    if (path)
      this.file = new WatchedFile(path, readText(path), (c) => this.reread(c, path)).start();
  }

  get names(): string[] {
    return [...this.tenants.keys()];
  }

  get(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  /** The tenants a caller may use, its default first (no copy: asked on every request). */
  allowed(caller: CallerConfig): readonly string[] {
    return caller.tenants ?? this.firstOnly;
  }

  /**
   * The tenant of a request: the one its path names (`/v1/tenants/:tenant/...`), else the caller's
   * default. One that does not exist and one the caller may not use get the same 403, so names
   * cannot be probed.
   */
  admit(caller: CallerConfig, requested: string | undefined): Tenant {
    const allowed = this.allowed(caller);
    const name = requested ?? allowed[0];
    const tenant = name === undefined ? undefined : this.tenants.get(name);
    if (!tenant || !allowed.includes(name as string)) {
      throw new Problem(
        403,
        'This tenant does not exist or this caller may not use it.',
        [],
        {},
        'tenant-forbidden',
      );
    }
    return tenant;
  }

  /** Re-reads every key file and the tenants file now (the tests' way to skip the poll's wait). */
  async reload(): Promise<void> {
    await this.file?.poll();
    await Promise.all([...this.keys.values()].map((key) => key.poll()));
  }

  keyLoaded(tenant: string, reread: boolean): void {
    this.metrics.keyLoaded(tenant);
    if (!reread) return; // a first load: use() works the groups out once every key is loaded
    this.regroup();
    this.logger.info({ tenant }, 'PostHog API key re-read from its file');
  }

  keyRefused(tenant: string, why: string): void {
    this.logger.error(
      { tenant, reason: why },
      'PostHog API key file changed but is refused; the previous key stays in force',
    );
  }

  onApplicationShutdown(): void {
    this.file?.stop();
    for (const key of this.keys.values()) key.stop();
  }

  private reread(content: string | undefined, path: string): void {
    const { ratePerMinute, ratePerHour } = this.config.upstream;
    const tenants = parseOrRefuse(
      () => parseTenantsFile(content, path, { ratePerMinute, ratePerHour }),
      this.logger,
      'BFF_TENANTS_FILE changed but is refused; the previous tenants stay in force',
    );
    if (!tenants) return;
    for (const key of this.keys.values()) key.stop();
    this.use(tenants);
    this.logger.info({ tenants: this.names }, 'BFF_TENANTS_FILE re-read: new tenants in force');
  }

  private use(configs: TenantConfig[]): void {
    const keys = new Map<string, PostHogKey>();
    const tenants = new Map<string, Tenant>();
    for (const config of configs) {
      const key = new PostHogKey(config.name, config.apiKey, this);
      keys.set(config.name, key);
      tenants.set(config.name, {
        name: config.name,
        posthog: config.posthog,
        ratePerMinute: config.ratePerMinute,
        ratePerHour: config.ratePerHour,
        authorization: () => `Bearer ${key.current}`,
        keyGroup: () => this.groups.get(config.name) ?? config.name,
      });
    }
    this.keys = keys;
    this.tenants = tenants;
    this.regroup();
    this.firstOnly = configs.slice(0, 1).map((config) => config.name);
  }

  /** A tenant's group is the first tenant (in configured order) holding the same key. */
  private regroup(): void {
    const firstByKey = new Map<string, string>();
    const groups = new Map<string, string>();
    for (const [name, key] of this.keys) {
      if (!firstByKey.has(key.current)) firstByKey.set(key.current, name);
      groups.set(name, firstByKey.get(key.current) as string);
    }
    this.groups = groups;
  }
}
