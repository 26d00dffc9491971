import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';

/** The Redis client library, loaded only when REDIS_URL is set (~15 MB of memory otherwise idle). */
function connect(url: string) {
  const { createClient } = require('@redis/client') as typeof import('@redis/client');
  return createClient({
    url, // rediss:// turns TLS on
    disableOfflineQueue: true, // a command while disconnected fails now instead of waiting
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
    },
  });
}

export type RedisClient = ReturnType<typeof connect>;

/** Redis is optional and never a single point of failure: every call is bounded and may fail. */
export class RedisUnavailable extends Error {}

/**
 * The one Redis connection (when REDIS_URL is set), owned here and shared by the cache's Redis
 * tier, the generations and the rate limits. It reconnects in the background; while it is down,
 * callers fall back to in-process state at once (no queued commands, no waiting on a dead socket).
 * Its state is the `bff_redis_up` gauge, one log line when it is lost and one when it is back.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  readonly client?: RedisClient;
  readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly listeners: Array<(up: boolean) => void> = [];
  /** undefined until the first connection attempt succeeded or failed. */
  private up?: boolean;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {
    this.keyPrefix = config.redis?.keyPrefix ?? '';
    this.timeoutMs = config.redis?.timeoutMs ?? 0;
    if (!config.redis) return;
    const client = connect(config.redis.url);
    client.on('ready', () => this.changed(true));
    client.on('end', () => this.changed(false));
    // Socket errors, failed reconnects: each is counted; the state change is logged once.
    client.on('error', (error: Error) => {
      metrics.redisError();
      if (!client.isReady) this.changed(false, error.message);
    });
    client.connect().catch(() => undefined); // keeps reconnecting on its own
    this.client = client;
    metrics.redisAvailable(false);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Connected: worth trying (each command is still bounded by REDIS_TIMEOUT_MS). */
  get available(): boolean {
    return this.client?.isReady ?? false;
  }

  /** For readiness: up = connected and the last command answered within REDIS_TIMEOUT_MS. */
  get state(): 'up' | 'down' | 'not configured' {
    if (!this.client) return 'not configured';
    return this.client.isReady && this.up === true ? 'up' : 'down';
  }

  /** Called with true/false when Redis comes and goes (e.g. the cache drops what it cannot trust). */
  onAvailabilityChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Runs one Redis operation within REDIS_TIMEOUT_MS; throws RedisUnavailable otherwise (and counts
   * it in bff_redis_errors_total). node-redis's own command timeout only covers commands not yet
   * written, so a Redis that accepts and never answers is bounded here.
   */
  async run<T>(operation: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client?.isReady) throw new RedisUnavailable('redis not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        operation(client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RedisUnavailable('redis timeout')), this.timeoutMs);
        }),
      ]);
      this.changed(true);
      return result;
    } catch (error) {
      this.metrics.redisError();
      // Connected but not answering in time counts as down, until a command answers again.
      if (error instanceof RedisUnavailable) this.changed(false, error.message);
      throw error instanceof RedisUnavailable ? error : new RedisUnavailable(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Closes the connection once every user is done (this global module is torn down last).
   * Bounded: a graceful close waits for every pending reply, so after REDIS_TIMEOUT_MS (a silent
   * Redis) the socket is destroyed.
   */
  async onModuleDestroy(): Promise<void> {
    const client = this.client;
    if (!client?.isOpen) return;
    this.listeners.length = 0;
    client.removeAllListeners('end');
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      client.close().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(this.timeoutMs, 100));
      }),
    ]);
    clearTimeout(timer);
    if (!closed && client.isOpen) client.destroy();
  }

  private changed(up: boolean, reason?: string): void {
    if (this.up === up) return;
    const first = this.up === undefined;
    this.up = up;
    this.metrics.redisAvailable(up);
    if (up) this.logger.info({}, first ? 'redis connected' : 'redis connection restored');
    else
      this.logger.warn(
        { err: reason },
        first
          ? 'redis unavailable; serving from process memory'
          : 'redis connection lost; serving from process memory',
      );
    for (const listener of this.listeners) listener(up);
  }
}
