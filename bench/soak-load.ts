/**
 * The soak's callers: an open-loop load at a steady rate (hot keys, many cold ones) spread over
 * the replicas in the rotation, and the oracle, which writes through one replica and checks that
 * every read answered after the write's 2xx reflects it.
 */
import type { FakePostHog } from '../test/fake-posthog/fake-posthog';
import { sha256 } from './processes';
import { BFF_SETTINGS, type Replica } from './soak-stack';

/**
 * The contract's coherence bound: a replica may answer from a copy its generation Redis confirmed
 * within CACHE_COHERENCE_MS, so a write is owed to every read sent that long after its 2xx.
 */
const COHERENCE_MS = Number(BFF_SETTINGS.CACHE_COHERENCE_MS);

/** Milliseconds since the soak started (fractional: the order of a write and a read matters). */
export class Clock {
  private readonly origin = performance.now();
  /** The origin on Date.now()'s scale, to place the fake's `receivedAt` on this clock. */
  readonly epoch = performance.timeOrigin + this.origin;

  now(): number {
    return performance.now() - this.origin;
  }

  fromEpoch(ms: number): number {
    return ms - this.epoch;
  }
}

type Scope =
  | 'integration:read'
  | 'integration:write'
  | 'organization_integration:read'
  | 'organization:read';

/** Three kinds of caller; the cold load is two callers, so together they can spend the budget. */
const CALLERS: Record<string, Scope[]> = {
  hot: ['integration:read', 'organization_integration:read', 'organization:read'],
  'cold-a': ['organization:read'],
  'cold-b': ['organization:read'],
  oracle: ['integration:read', 'integration:write'],
};
export type CallerName = keyof typeof CALLERS;

const tokenOf = (caller: string) => `soak-${caller}-token-3b9f${caller.length}e41c07a2`;

export function clientsJson(): string {
  return JSON.stringify(
    Object.entries(CALLERS).map(([id, scopes]) => ({
      id,
      token_sha256: sha256(tokenOf(id)),
      scopes,
    })),
  );
}

export type Family = 'integrations' | 'organization-integrations' | 'role-references';

export interface KeySpec {
  path: string;
  family: Family;
  /** The PostHog call it makes when not cached, as `upstreamKey` spells it. */
  upstream: string;
  weight: number;
}

/** The kind the oracle creates and deletes, and the list that must show its writes. */
const ORACLE_KIND = 'linear';
export const ORACLE_LIST = `/v1/integrations?kind=${ORACLE_KIND}`;

export function hotKeys(fake: FakePostHog): KeySpec[] {
  const project = `/api/projects/${fake.projectId}`;
  const org = `/api/organizations/${fake.organizationId}`;
  const vercel = fake.data.organizationIntegrations[0].id;
  const page = 'limit=100&offset=0';
  return [
    {
      path: ORACLE_LIST,
      family: 'integrations',
      upstream: `GET ${project}/integrations/?kind=${ORACLE_KIND}&${page}`,
      weight: 20,
    },
    {
      path: '/v1/integrations',
      family: 'integrations',
      upstream: `GET ${project}/integrations/?${page}`,
      weight: 20,
    },
    {
      path: '/v1/integrations/1',
      family: 'integrations',
      upstream: `GET ${project}/integrations/1/?`,
      weight: 15,
    },
    {
      path: '/v1/organization/integrations',
      family: 'organization-integrations',
      upstream: `GET ${org}/integrations/?${page}`,
      weight: 20,
    },
    {
      path: `/v1/organization/integrations/${vercel}`,
      family: 'organization-integrations',
      upstream: `GET ${org}/integrations/${vercel}/?`,
      weight: 10,
    },
    {
      path: '/v1/role-external-references',
      family: 'role-references',
      upstream: `GET ${org}/role_external_references/?${page}`,
      weight: 15,
    },
  ];
}

/** One of 5000 role-reference pages: most are asked once, some again within the stale window. */
function coldPath(): string {
  const limit = 1 + Math.floor(Math.random() * 100);
  const offset = Math.floor(Math.random() * 50);
  return `/v1/role-external-references?limit=${limit}&offset=${offset}`;
}

/** A PostHog call as the hot keys spell it: method, path, query sorted by name. */
export function upstreamKey(call: {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
}): string {
  const query = new URLSearchParams();
  for (const name of Object.keys(call.query).sort()) {
    for (const value of [call.query[name]].flat()) query.append(name, value);
  }
  return `${call.method} ${call.path}?${query}`;
}

/** One answer (or its absence) as a caller saw it. */
export interface Answer {
  /** When it was sent and how long it took (ms, soak clock). */
  t: number;
  ms: number;
  slot: number;
  /** The replica's process (a roll starts a new one). */
  pid: number;
  method: string;
  path: string;
  caller: CallerName;
  /** 0: no HTTP answer (connection refused, reset, timeout). */
  status: number;
  /** The problem `type` of an error answer. */
  type?: string;
  cache?: string;
  /** The transport error, when there was no answer. */
  error?: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sends one request on the replica's keep-alive pool; the body is read only when `json`. */
async function call(
  clock: Clock,
  replica: Replica,
  caller: CallerName,
  method: string,
  path: string,
  options: { body?: unknown; json?: boolean } = {},
): Promise<{ answer: Answer; json?: unknown }> {
  const t = clock.now();
  const answer: Answer = {
    t,
    ms: 0,
    slot: replica.slot,
    pid: replica.child.pid,
    method,
    path,
    caller,
    status: 0,
  };
  const headers: Record<string, string> = { authorization: `Bearer ${tokenOf(caller)}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const response = await replica.pool.request({
      method: method as 'GET',
      path,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    answer.status = response.statusCode;
    const cache = response.headers['x-cache'];
    if (typeof cache === 'string') answer.cache = cache;
    let json: unknown;
    if (options.json || answer.status >= 400) {
      json = parseJson(await response.body.text());
      if (answer.status >= 400) answer.type = (json as { type?: string } | undefined)?.type;
    } else {
      await response.body.dump();
    }
    answer.ms = clock.now() - t;
    return { answer, json };
  } catch (error) {
    answer.ms = clock.now() - t;
    answer.error = (error as { code?: string }).code ?? String(error);
    return { answer };
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle

export interface Write {
  op: 'create' | 'delete';
  /** The integration created or deleted (unknown for a create that failed). */
  id?: number;
  slot: number;
  sentAt: number;
  doneAt?: number;
  status?: number;
}

/** A 2xx read of the oracle's list, sent after a write's 2xx, that does not reflect it. */
export interface PreWriteAnswer {
  t: number;
  slot: number;
  caller: CallerName;
  cache?: string;
  /** Created before the read was sent, missing from it. */
  missing: number[];
  /** Deleted before the read was sent, still in it. */
  resurrected: number[];
  /** Since the newest of these writes' 2xx. */
  msAfterWrite: number;
}

/**
 * Keeps one or two integrations of ORACLE_KIND of its own (creates when it holds fewer than two,
 * else deletes the older, so the newest id is always live and the fake never hands a deleted id
 * out again), one write at a time, and checks every 2xx answer of ORACLE_LIST.
 */
export class Oracle {
  readonly writes: Write[] = [];
  readonly preWrite: PreWriteAnswer[] = [];
  /** 2xx list answers checked against at least one earlier write. */
  checked = 0;
  /** Oracle reads after a write that got no 2xx (nothing to check). */
  inconclusive = 0;
  private readonly live: number[] = [];
  private sequence = 0;

  constructor(private readonly clock: Clock) {}

  /** One write through `writer`, then the list through every replica, at once and 250 ms later. */
  async step(
    writer: Replica,
    readers: () => Replica[],
    record: (a: Answer) => void,
  ): Promise<void> {
    const write = await this.write(writer, record);
    if (write.status === undefined || write.status >= 300) return;
    for (const delay of [0, 250]) {
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      await Promise.all(
        readers().map(async (replica) => {
          const { answer, json } = await call(this.clock, replica, 'oracle', 'GET', ORACLE_LIST, {
            json: true,
          });
          record(answer);
          if (answer.status >= 200 && answer.status < 300) this.check(answer, json);
          else this.inconclusive++;
        }),
      );
    }
  }

  private async write(replica: Replica, record: (a: Answer) => void): Promise<Write> {
    const deleting = this.live.length >= 2 ? this.live[0] : undefined;
    const write: Write = {
      op: deleting === undefined ? 'create' : 'delete',
      id: deleting,
      slot: replica.slot,
      sentAt: this.clock.now(),
    };
    this.writes.push(write);
    const { answer, json } =
      deleting === undefined
        ? await call(this.clock, replica, 'oracle', 'POST', '/v1/integrations', {
            json: true,
            body: { kind: ORACLE_KIND, config: { integration_id: `soak-${++this.sequence}` } },
          })
        : await call(this.clock, replica, 'oracle', 'DELETE', `/v1/integrations/${deleting}`);
    record(answer);
    write.doneAt = this.clock.now();
    // A delete answered 404: an earlier delete of unknown outcome did happen.
    write.status = deleting !== undefined && answer.status === 404 ? 204 : answer.status;
    if (write.status < 200 || write.status >= 300) return write;
    if (deleting === undefined) {
      write.id = (json as { id: number }).id;
      this.live.push(write.id);
    } else {
      this.live.shift();
    }
    return write;
  }

  /**
   * An answer of ORACLE_LIST sent at `answer.t`: every id whose last write before `t` completed
   * with a 2xx more than CACHE_COHERENCE_MS before `t` must be in it (create) or not (delete). An id with a write still in
   * flight at `t`, or whose last write failed, is not checked.
   */
  check(answer: Answer, json: unknown): void {
    const items = (json as { items?: { id: number }[] } | undefined)?.items;
    if (!Array.isArray(items)) return;
    const ids = new Set(items.map((item) => item.id));
    const last = new Map<number, Write>();
    for (const write of this.writes) {
      if (write.sentAt < answer.t && write.id !== undefined) last.set(write.id, write);
    }
    const missing: number[] = [];
    const resurrected: number[] = [];
    let newest = -Infinity;
    for (const [id, write] of last) {
      const settled =
        write.doneAt !== undefined &&
        write.doneAt + COHERENCE_MS < answer.t &&
        write.status !== undefined &&
        write.status < 300;
      if (!settled) continue;
      newest = Math.max(newest, write.doneAt as number);
      if (write.op === 'create' && !ids.has(id)) missing.push(id);
      if (write.op === 'delete' && ids.has(id)) resurrected.push(id);
    }
    if (newest === -Infinity) return;
    this.checked++;
    if (missing.length || resurrected.length) {
      this.preWrite.push({
        t: answer.t,
        slot: answer.slot,
        caller: answer.caller,
        cache: answer.cache,
        missing,
        resurrected,
        msAfterWrite: answer.t - newest,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The load

/** Share of requests that go to cold keys (split between the two cold callers). */
export const COLD_SHARE = 0.05;
/** Requests in flight beyond which the generator skips a beat (and counts it) instead of queuing. */
const MAX_IN_FLIGHT = 512;
const TICK_MS = 5;
/** The oracle's last write leaves this long for its reads before the load stops. */
const ORACLE_TAIL_MS = 1000;

export class Load {
  readonly answers: Answer[] = [];
  /** Requests the generator did not send because MAX_IN_FLIGHT were pending (saturation). */
  skipped = 0;
  private inFlight = 0;
  private next = 0;
  private readonly totalWeight: number;

  constructor(
    private readonly clock: Clock,
    private readonly replicas: Replica[],
    private readonly keys: KeySpec[],
    private readonly oracle: Oracle,
  ) {
    this.totalWeight = keys.reduce((sum, key) => sum + key.weight, 0);
  }

  /** The replicas a load balancer would send to now. */
  rotation(): Replica[] {
    return this.replicas.filter((replica) => replica.inRotation);
  }

  /** Round robin over the rotation, like a Service's connection spreading. */
  private pick(): Replica | undefined {
    const rotation = this.rotation();
    if (rotation.length === 0) return undefined;
    return rotation[this.next++ % rotation.length];
  }

  record = (answer: Answer): void => {
    this.answers.push(answer);
  };

  /** `rate` requests a second until `untilMs`, sent on time whatever the answers take. */
  async run(rate: number, untilMs: number): Promise<void> {
    const start = this.clock.now();
    let sent = 0;
    while (this.clock.now() < untilMs) {
      const due = Math.floor(((this.clock.now() - start) / 1000) * rate);
      for (; sent < due; sent++) {
        if (this.inFlight >= MAX_IN_FLIGHT) this.skipped++;
        else void this.one();
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /**
   * A write and its reads at every multiple of `everyMs` (plus 100 ms) until `untilMs`: on the
   * soak clock, so writes land at known moments of the fault program (e.g. just after Redis went).
   */
  async runOracle(everyMs: number, untilMs: number): Promise<void> {
    for (let at = everyMs + 100; at < untilMs - ORACLE_TAIL_MS; at += everyMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - this.clock.now())));
      const writer = this.pick();
      if (writer) await this.oracle.step(writer, () => this.rotation(), this.record);
    }
  }

  private async one(): Promise<void> {
    const replica = this.pick();
    if (!replica) {
      this.skipped++;
      return;
    }
    this.inFlight++;
    try {
      const cold = Math.random() < COLD_SHARE;
      const path = cold ? coldPath() : this.hotPath();
      const caller: CallerName = cold ? (Math.random() < 0.5 ? 'cold-a' : 'cold-b') : 'hot';
      const oracleList = path === ORACLE_LIST;
      const { answer, json } = await call(this.clock, replica, caller, 'GET', path, {
        json: oracleList,
      });
      this.record(answer);
      if (oracleList && answer.status >= 200 && answer.status < 300)
        this.oracle.check(answer, json);
    } finally {
      this.inFlight--;
    }
  }

  private hotPath(): string {
    let pick = Math.random() * this.totalWeight;
    for (const key of this.keys) {
      pick -= key.weight;
      if (pick < 0) return key.path;
    }
    return this.keys[this.keys.length - 1].path;
  }
}
