import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, type RedisConfig } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';

/** Between two attempts at a first connection that failed (a Cluster's seeds, a Sentinel set). */
const RECONNECT_MS = 2000;

/**
 * Replies of a Cluster whose slot is moving: TRYAGAIN (a multi-key command while the slot's keys
 * are split between two masters) and MOVED / ASK from a transaction (node-redis follows them for
 * single commands and scripts only). Redis answered: it is not down, this command failed.
 */
const SLOT_MOVING = /^(TRYAGAIN|MOVED|ASK) /;
/** TRYAGAIN is retried after this pause, within REDIS_TIMEOUT_MS (node-redis does not retry it). */
const TRY_AGAIN_MS = 20;

/**
 * After a failed command, Redis counts as back once commands answer this long without another
 * failure: a Cluster with one master gone fails some commands and answers others, and its state
 * (and log) must not flip with every request.
 */
const SETTLE_MS = 1000;

/**
 * The node-redis client of the configured form, loaded only when Redis is configured (~15 MB of
 * memory otherwise idle). The three forms take the same commands; the Sentinel client follows a
 * failover (Sentinel's announcement, or a READONLY reply, sends it to the new master) and the
 * Cluster client follows slot moves (MOVED / ASK), both without a restart.
 */
function connect(redis: RedisConfig, closing: () => boolean) {
  const { createClient, createCluster, createSentinel } =
    require('@redis/client') as typeof import('@redis/client');
  // Every data node: credentials, TLS with the private CA, a command while disconnected fails now
  // instead of waiting, reconnection in the background until the service closes (a Sentinel
  // client closes only once its connection to a master has given up).
  const node = {
    username: redis.username,
    password: redis.password,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) =>
        closing() ? false : Math.min(100 * 2 ** retries, 2000),
      ...(redis.ca ? { tls: true as const, ca: redis.ca } : {}),
    },
  };
  switch (redis.form) {
    case 'url': // rediss:// turns TLS on; credentials in the URL are used as given
      return createClient({ ...node, url: redis.url });
    case 'sentinel':
      return createSentinel({
        name: redis.master,
        sentinelRootNodes: redis.sentinels,
        nodeClientOptions: node,
        sentinelClientOptions: { socket: { connectTimeout: 2000 } },
        // The nodes' connection errors reach the 'error' listener (counted), as the other forms'.
        passthroughClientErrorEvents: true,
      });
    case 'cluster':
      return createCluster({
        rootNodes: redis.nodes.map((socket) => ({ socket })),
        defaults: node,
      });
  }
}

export type RedisClient = ReturnType<typeof connect>;

/** Redis is optional and never a single point of failure: every call is bounded and may fail. */
export class RedisUnavailable extends Error {}

/**
 * The one Redis connection (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES), owned here and
 * shared by the cache's Redis tier, the generations, the rate limits and the audit stream. It
 * reconnects in the background; while it is down, callers fall back to in-process state at once
 * (no queued commands, no waiting on a dead socket). Its state is the `bff_redis_up` gauge, one log
 * line when it is lost and one when it is back. Nothing here logs a password: only error messages
 * of the client library, which name a node's address, never its credentials.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  readonly client?: RedisClient;
  readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly listeners: Array<(up: boolean) => void> = [];
  /** undefined until the first connection attempt succeeded or failed. */
  private up?: boolean;
  /** When a command last failed (ms epoch). */
  private failedAt = 0;
  /** The client has connected (a Sentinel or Cluster client then keeps itself connected). */
  private connected = false;
  private closing = false;
  private retry?: NodeJS.Timeout;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {
    this.keyPrefix = config.redis?.keyPrefix ?? '';
    this.timeoutMs = config.redis?.timeoutMs ?? 0;
    if (!config.redis) return;
    const client = connect(config.redis, () => this.closing);
    this.client = client;
    if (config.redis.form === 'url') {
      // A single connection: its own events say when it is lost and back.
      client.on('ready', () => this.ready());
      client.on('end', () => this.changed(false));
    }
    // Socket errors, failed reconnects, a node of a Sentinel set or Cluster failing: each is
    // counted; the state change is logged once.
    client.on('error', (error: unknown) => {
      metrics.redisError();
      if (!this.available) this.changed(false, errorMessage(error));
    });
    metrics.redisAvailable(false);
    this.open(client);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Connected: worth trying (each command is still bounded by REDIS_TIMEOUT_MS). */
  get available(): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    // A Cluster client has no readiness of its own: open, its node connections retry by themselves.
    return 'isReady' in client ? client.isReady : client.isOpen;
  }

  /**
   * For readiness: up = connected, and commands answer within REDIS_TIMEOUT_MS (for SETTLE_MS
   * since one last failed).
   */
  get state(): 'up' | 'down' | 'not configured' {
    if (!this.client) return 'not configured';
    return this.available && this.up === true ? 'up' : 'down';
  }

  /** Called with true/false when Redis comes and goes (e.g. the cache drops what it cannot trust). */
  onAvailabilityChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Runs one Redis operation within REDIS_TIMEOUT_MS; throws RedisUnavailable otherwise (and counts
   * it in bff_redis_errors_total). node-redis's own command timeout only covers commands not yet
   * written, so a Redis that accepts and never answers is bounded here. A failure or a timeout
   * counts as down until operations succeed for SETTLE_MS (with Sentinel or Cluster it is the only
   * sign: their clients wait through a failover instead of reporting a state); a Cluster slot on
   * the move does not.
   */
  async run<T>(operation: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client || !this.available) throw new RedisUnavailable('redis not connected');
    const deadline = Date.now() + this.timeoutMs;
    let slotMoving = false;
    const attempt = async (): Promise<T> => {
      try {
        return await operation(client);
      } catch (error) {
        slotMoving ||= SLOT_MOVING.test(errorMessage(error));
        const again = errorMessage(error).startsWith('TRYAGAIN');
        if (!again || Date.now() + TRY_AGAIN_MS >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, TRY_AGAIN_MS));
        return attempt();
      }
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        attempt(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RedisUnavailable('redis timeout')), this.timeoutMs);
        }),
      ]);
      if (Date.now() - this.failedAt >= SETTLE_MS) this.changed(true);
      return result;
    } catch (error) {
      this.metrics.redisError();
      if (!slotMoving) {
        this.failedAt = Date.now();
        this.changed(false, errorMessage(error));
      }
      throw error instanceof RedisUnavailable ? error : new RedisUnavailable(errorMessage(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Closes the connection once every user is done (this global module is torn down last).
   * Bounded: a graceful close waits for every pending reply, so after REDIS_TIMEOUT_MS (a silent
   * Redis) the connection is destroyed.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
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
    if (!closed && client.isOpen) await client.destroy();
  }

  /**
   * Connects. A single connection keeps retrying by itself; a Cluster client whose seeds did not
   * answer, or a Sentinel client that found no master, gives up: it is reset and tried again.
   */
  private open(client: RedisClient): void {
    client.connect().then(
      () => this.ready(),
      async (error: unknown) => {
        this.metrics.redisError();
        this.changed(false, errorMessage(error));
        if (client.isOpen) await client.destroy();
        if (!this.closing) this.retry = setTimeout(() => this.open(client), RECONNECT_MS);
      },
    );
  }

  private ready(): void {
    this.connected = true;
    this.changed(true);
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

/** What the client library said; its messages name nodes by address, never by credentials. */
function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
