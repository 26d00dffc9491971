import { createClient } from '@keyv/redis';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';

function connect(url: string) {
  return createClient({
    url,
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
 * The one Redis connection (when REDIS_URL is set), shared by the cache, the generation counters
 * and the rate limits. It reconnects in the background; while it is down, callers fall back to
 * in-process state at once (no queued commands, no waiting on a dead socket).
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client?: RedisClient;
  readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly listeners: Array<(up: boolean) => void> = [];
  private lastErrorLog = 0;
  private up = false;

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
    client.on('error', (error: Error) => {
      if (this.available) return;
      this.changed(false);
      // One line per 10 s at most: a Redis outage must not flood the logs.
      if (Date.now() - this.lastErrorLog > 10_000) {
        this.lastErrorLog = Date.now();
        this.logger.warn({ err: error.message }, 'redis unavailable; serving from process memory');
      }
    });
    client.connect().catch(() => undefined); // keeps reconnecting on its own
    this.client = client;
    metrics.redisAvailable(false);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  get available(): boolean {
    return this.client?.isReady ?? false;
  }

  /** Called with true/false when Redis comes and goes (e.g. the cache drops what it cannot trust). */
  onAvailabilityChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Runs one Redis operation within REDIS_TIMEOUT_MS; throws RedisUnavailable otherwise. */
  async run<T>(operation: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client?.isReady) throw new RedisUnavailable('redis not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        operation(client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RedisUnavailable('redis timeout')), this.timeoutMs);
        }),
      ]);
    } catch (error) {
      this.metrics.redisError();
      throw error instanceof RedisUnavailable ? error : new RedisUnavailable(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.run((client) => client.ping())) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    if (!client?.isOpen) return;
    // close() waits for every pending reply: bounded, so a silent Redis cannot hold up shutdown.
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

  private changed(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.metrics.redisAvailable(up);
    for (const listener of this.listeners) listener(up);
  }
}
