/**
 * Nothing a stranger sends is kept: thousands of token-less GETs with long, unique URLs (cached
 * routes, whose cache key would carry the query, and unknown paths) leave the heap where it was.
 * Measured in this process after full garbage collections (bounded count; no timing asserted).
 */
import { Agent, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Stack, startStack } from './support/stack';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const REQUESTS = 3000;
const CONCURRENCY = 16;
const PAD = 15_000; // characters of query or path per request: 45 MB in all
const BOUND = 8 * 1024 * 1024; // heap growth allowed (a sixth of what was sent)

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Sends `count` token-less GETs built by `url(i)`, `CONCURRENCY` at a time; returns the statuses. */
async function flood(
  base: string,
  count: number,
  url: (i: number) => string,
): Promise<Map<number, number>> {
  const { hostname, port } = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const path = url(next++);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: hostname, port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return statuses;
}

const unique = (i: number, length: number) => `${i}-`.padEnd(length, 'x');

describe('memory: no per-request state before admission', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ LOG_LEVEL: 'warn' }); // the test's own log buffer keeps nothing
  });
  afterAll(() => stack.close());

  it(`keeps heap growth under ${BOUND >> 20} MiB after ${REQUESTS} token-less long-URL GETs`, async () => {
    const routes = [
      (i: number) => `/v1/integrations?kind=slack&offset=${i}&pad=${unique(i, PAD)}`,
      (i: number) => `/v1/integrations/1/linear/teams?pad=${unique(i, PAD)}`,
      (i: number) => `/v1/no-such-route/${unique(i, PAD)}`,
    ];
    const url = (i: number) => routes[i % routes.length](i);
    await flood(stack.url, 300, (i) => url(REQUESTS + i)); // warm-up: pools, JIT, metric children
    const before = heapAfterGc();
    const statuses = await flood(stack.url, REQUESTS, url);
    const growth = heapAfterGc() - before;
    process.stdout.write(
      `memory: ${REQUESTS} requests, ${Math.round((REQUESTS * PAD) / 1e6)} MB of URLs, statuses ${JSON.stringify(
        Object.fromEntries(statuses),
      )}, heap growth ${(growth / 1048576).toFixed(1)} MiB\n`,
    );
    expect([...statuses.keys()].sort()).toEqual([401, 404]);
    expect(stack.fake.requests).toHaveLength(0);
    expect(growth).toBeLessThan(BOUND);
  });
});
