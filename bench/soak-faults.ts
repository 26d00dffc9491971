/**
 * The soak's faults: one program of CYCLE_SECONDS, repeated for the whole run (a 60 s run has
 * each fault once, the 10-minute one ten times), each fault recorded with when it started and
 * ended on the soak clock.
 */
import type { FakePostHog } from '../test/fake-posthog/fake-posthog';
import type { Clock } from './soak-load';
import { BFF_SETTINGS, type RedisForm, type Replica } from './soak-stack';

export type FaultKind = 'posthog-5xx' | 'posthog-slow' | 'posthog-throttle' | 'redis' | 'replica';

export interface Fault {
  kind: FaultKind;
  /** ms, soak clock. */
  start: number;
  end: number;
  detail: string;
  /** posthog-throttle: the wait PostHog announced in its detail, in seconds. */
  waitSeconds?: number;
}

export const CYCLE_SECONDS = 60;
/** PostHog's throttle wait, only in its `detail` (no Retry-After), as PostHog answers it. */
const THROTTLE_WAIT_SECONDS = 5;
/** Every answer this late during a latency spike: past UPSTREAM_TIMEOUT_MS (2 s). */
const SPIKE_DELAY_MS = 3000;
/** The roll-during-outage step: how long PostHog stays down once the new replica is ready. */
const OUTAGE_TAIL_MS = 4000;
/** The replica that is rolled: the others live through the whole run (their RSS is the trend). */
export const ROLLED_SLOT = 2;

interface Context {
  clock: Clock;
  fake: FakePostHog;
  redis: RedisForm;
  replicas: Replica[];
  /** Records a fault that ran from `start` until now. */
  record(kind: FaultKind, start: number, detail: string, waitSeconds?: number): void;
}

interface Step {
  /** Seconds into the cycle. */
  at: number;
  /** Steps that roll the replica run one after the other. */
  rolls?: boolean;
  run(context: Context): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PostHog in `mode` for `seconds`, then normal again. */
async function postHogFault(
  c: Context,
  kind: FaultKind,
  seconds: number,
  mode: Parameters<FakePostHog['setMode']>[0],
  detail: string,
  waitSeconds?: number,
): Promise<void> {
  const start = c.clock.now();
  c.fake.setMode(mode);
  await sleep(seconds * 1000);
  c.fake.setMode({ kind: 'normal' });
  c.record(kind, start, detail, waitSeconds);
}

/**
 * One cycle: the PostHog faults first, then a replica replaced during a PostHog outage, Redis
 * (at a multiple of the oracle's 5 s, so a write lands while it is down, and late in the cycle,
 * when the budget windows it holds are full), and a replica replaced under load.
 */
const PROGRAM: Step[] = [
  {
    at: 5,
    run: (c) =>
      postHogFault(
        c,
        'posthog-5xx',
        4,
        { kind: 'status', status: 503 },
        'PostHog answers 503 to every call for 4 s',
      ),
  },
  {
    at: 11,
    run: (c) =>
      postHogFault(
        c,
        'posthog-slow',
        4,
        { kind: 'slow', delayMs: SPIKE_DELAY_MS },
        `every PostHog answer ${SPIKE_DELAY_MS} ms late for 4 s`,
      ),
  },
  {
    at: 17,
    run: (c) =>
      postHogFault(
        c,
        'posthog-throttle',
        THROTTLE_WAIT_SECONDS,
        {
          kind: 'status',
          status: 429,
          retryAfterSeconds: THROTTLE_WAIT_SECONDS,
          retryAfterHeader: false,
        },
        `PostHog throttles the key: 429 "Expected available in ${THROTTLE_WAIT_SECONDS} seconds" (no Retry-After) for ${THROTTLE_WAIT_SECONDS} s`,
        THROTTLE_WAIT_SECONDS,
      ),
  },
  {
    // A replica that starts while PostHog is down, once every copy in Redis has expired: it has
    // no copy of its own, only the other replicas' stale ones (and, by the contract, Redis's).
    at: 24,
    rolls: true,
    run: async (c) => {
      const start = c.clock.now();
      let outage = 0;
      await c.replicas[ROLLED_SLOT].roll(async () => {
        outage = c.clock.now();
        c.fake.setMode({ kind: 'status', status: 503 });
        await sleep(Number(BFF_SETTINGS.CACHE_TTL_SECONDS) * 1000 + 1000);
      });
      c.record(
        'replica',
        start,
        `bff-${ROLLED_SLOT} SIGTERM under load, started again once PostHog had been down for a freshness period`,
      );
      await sleep(OUTAGE_TAIL_MS);
      c.fake.setMode({ kind: 'normal' });
      c.record(
        'posthog-5xx',
        outage,
        `PostHog answers 503 from bff-${ROLLED_SLOT}'s exit until its successor has served ${OUTAGE_TAIL_MS / 1000} s`,
      );
    },
  },
  {
    at: 55,
    run: async (c) => {
      const start = c.clock.now();
      c.record('redis', start, await c.redis.fault());
    },
  },
  {
    at: 57,
    rolls: true,
    run: async (c) => {
      const start = c.clock.now();
      await c.replicas[ROLLED_SLOT].roll();
      c.record(
        'replica',
        start,
        `bff-${ROLLED_SLOT} SIGTERM under load, replaced by a new process`,
      );
    },
  },
];

/**
 * Runs the program's steps at their times for `seconds` (steps due later are skipped); resolves
 * once every started step has finished, with the faults in the order they started.
 */
export async function runFaults(
  clock: Clock,
  context: Omit<Context, 'clock' | 'record'>,
  seconds: number,
): Promise<Fault[]> {
  const faults: Fault[] = [];
  const full: Context = {
    ...context,
    clock,
    record: (kind, start, detail, waitSeconds) =>
      faults.push({ kind, start, end: clock.now(), detail, waitSeconds }),
  };
  const running: Promise<void>[] = [];
  let rolls = Promise.resolve();
  for (let cycle = 0; cycle * CYCLE_SECONDS < seconds; cycle++) {
    for (const step of PROGRAM) {
      const at = cycle * CYCLE_SECONDS + step.at;
      if (at >= seconds) continue;
      running.push(
        sleep(at * 1000 - clock.now()).then(() => {
          if (!step.rolls) return step.run(full);
          rolls = rolls.then(() => step.run(full));
          return rolls;
        }),
      );
    }
  }
  await Promise.all(running);
  return faults.sort((a, b) => a.start - b.start);
}
