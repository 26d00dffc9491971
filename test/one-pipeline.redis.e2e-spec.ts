/**
 * One cache read per request, on a real Redis (REDIS_URL): a cold miss reads its entry once (the
 * lookup made right after admission is reused by the pipeline), and a hit reads it at most once.
 * Redis is shared with other runs: only commands on this run's key prefix are counted (MONITOR).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { ResponseCache } from '../src/cache/response-cache';
import { type Stack, startStack } from './support/stack';

const REDIS_URL = process.env.REDIS_URL as string;
const PREFIX = `bff-test-pipeline-${process.pid}-${Date.now()}:`;
const READS = new Set(['get', 'mget', 'hget', 'hgetall', 'getex']);
/** MONITOR reports a command after it ran: long enough for every command of a request to show. */
const SETTLE_MS = 200;

describe('one pipeline on Redis: the cache is read once per request', () => {
  let stack: Stack;
  const monitor = createClient({ url: REDIS_URL });
  const seen: string[][] = [];

  beforeAll(async () => {
    stack = await startStack({ REDIS_URL, REDIS_KEY_PREFIX: PREFIX, LOG_LEVEL: 'warn' });
    await monitor.connect();
    await monitor.monitor((line: string) => {
      if (!line.includes(PREFIX)) return;
      const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
      seen.push(args);
    });
  });
  afterAll(async () => {
    await monitor.destroy();
    await stack.close();
  });

  /** Reads of entry keys for this upstream path seen since `from`. */
  const entryReads = (from: number, upstreamPath: string) =>
    seen
      .slice(from)
      .filter(([command]) => READS.has(command.toLowerCase()))
      .filter(([, ...keys]) =>
        // The entry itself, not the fleet's load lock beside it (`<entry key>:load`).
        keys.some(
          (k) => k.includes(`${PREFIX}cache:`) && k.includes(upstreamPath) && !k.endsWith(':load'),
        ),
      );

  it('reads the entry of a cold miss once, and of a hit at most once', async () => {
    const path = '/api/projects/1/integrations/3/';
    let from = seen.length;
    const miss = await stack.client.get('/v1/integrations/3');
    expect(miss.headers.get('x-cache')).toBe('MISS');
    await sleep(SETTLE_MS);
    expect(entryReads(from, path)).toHaveLength(1);

    from = seen.length;
    const hit = await stack.client.get('/v1/integrations/3');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    await sleep(SETTLE_MS);
    expect(entryReads(from, path).length).toBeLessThanOrEqual(1);
  });

  it('reads the entry of a miss the hit entry hands on to Fastify once', async () => {
    const path = '/api/projects/1/integrations/4/';
    await stack.client.get('/v1/integrations/4'); // Fastify routes it: the hit entry knows it now
    await stack.app.get(ResponseCache).invalidate('default/integrations');
    await sleep(SETTLE_MS);
    const from = seen.length;
    const miss = await stack.client.get('/v1/integrations/4');
    expect(miss.headers.get('x-cache')).toBe('MISS');
    await sleep(SETTLE_MS);
    expect(entryReads(from, path)).toHaveLength(1);
  });
});
