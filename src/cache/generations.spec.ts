import type { Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { Generations } from './generations';

const REDIS_URL = process.env.REDIS_URL;

function redisService(url: string | undefined, prefix: string, lines: string[] = []) {
  const config = {
    tenants: [],
    redis: url ? { form: 'url', url, keyPrefix: prefix, timeoutMs: 1000 } : undefined,
    logLevel: 'info',
  } as unknown as Config;
  const logger = new AppLogger(config, { write: (line: string) => void lines.push(line) });
  return { service: new RedisService(config, logger, new MetricsService()), logger };
}

async function connected(service: RedisService): Promise<RedisService> {
  const deadline = Date.now() + 5000;
  while (!service.available && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (!service.available) throw new Error(`Redis at ${REDIS_URL} is not answering`);
  return service;
}

describe('Generations without Redis', () => {
  it('keys by this replica’s own numbers: a write moves the family on, others stay', async () => {
    const { service, logger } = redisService(undefined, '');
    const generations = new Generations(service, logger, () => undefined);
    const before = await generations.current('default/integrations');
    expect(before.shared).toBe(false);
    await generations.bump('default/integrations');
    expect((await generations.current('default/integrations')).tag).not.toBe(before.tag);
    expect(await generations.current('default/role-external-references')).toEqual(
      await generations.current('default/role-external-references'),
    );
  });
});

(REDIS_URL ? describe : describe.skip)('Generations on Redis (REDIS_URL)', () => {
  const prefix = `bff-unit-gen-${process.pid}-${Date.now()}:`;
  const opened: RedisService[] = [];
  const replica = async (
    onNewEpoch: () => void = () => undefined,
    lines: string[] = [],
    coherenceMs = 0,
  ) => {
    const { service, logger } = redisService(REDIS_URL, prefix, lines);
    opened.push(await connected(service));
    return new Generations(service, logger, onNewEpoch, coherenceMs);
  };
  const hash = `${prefix}generations`;
  const forget = () => opened[0].run((c) => c.del(hash));

  afterAll(async () => {
    await forget();
    for (const service of opened) await service.onModuleDestroy();
  });

  it('holds a confirmation for CACHE_COHERENCE_MS, then asks Redis again; its own bump at once', async () => {
    const a = await replica();
    const b = await replica(undefined, [], 300);
    const family = 'coherence/integrations';
    const first = await b.current(family);
    expect(first.confirmed).toBe(true);
    expect(b.current(family)).toBe(first); // within the bound: no round trip, not even a promise
    await a.bump(family);
    expect(b.current(family)).toBe(first); // another replica's write, inside the bound
    await new Promise((resolve) => setTimeout(resolve, 320));
    const later = await b.current(family);
    expect(later.tag).not.toBe(first.tag); // past the bound: confirmed again, the write seen
    await b.bump(family);
    expect((await b.current(family)).tag).not.toBe(later.tag); // its own write: at once
  });

  it('shares numbers between replicas: a bump on one is seen by the other at its next read', async () => {
    const a = await replica();
    const b = await replica();
    const before = await b.current('default/integrations');
    expect(before.shared).toBe(true);
    expect(before).toEqual(await a.current('default/integrations'));
    await a.bump('default/integrations');
    const after = await b.current('default/integrations');
    expect(after.shared).toBe(true);
    expect(after.tag).not.toBe(before.tag);
    expect(after).toEqual(await a.current('default/integrations'));
  });

  it('never hands out an earlier tag after Redis forgot the hash (restart, eviction, flush)', async () => {
    const newEpochs: string[] = [];
    const lines: string[] = [];
    const a = await replica(() => newEpochs.push('a'), lines);
    await a.bump('default/organization-integrations');
    const seen = new Set([(await a.current('default/organization-integrations')).tag]);
    await a.bump('default/organization-integrations');
    seen.add((await a.current('default/organization-integrations')).tag);

    await forget(); // numbers would restart at 0 and revive keys of pre-write entries
    await a.bump('default/organization-integrations'); // the bump itself writes a new epoch
    const after = await a.current('default/organization-integrations');
    expect(seen.has(after.tag)).toBe(false);
    expect(newEpochs).toEqual(['a']);
    expect(lines.filter((l) => l.includes('new epoch'))).toHaveLength(1);

    // A read of a forgotten hash sets the epoch too; every replica then reads the same one.
    await forget();
    const b = await replica();
    const onB = await b.current('default/organization-integrations');
    expect(seen.has(onB.tag) || onB.tag === after.tag).toBe(false);
    expect(await a.current('default/organization-integrations')).toEqual(onB);
  });

  it('keeps the hash without a TTL, so volatile-* eviction policies never pick it', async () => {
    const a = await replica();
    await a.bump('default/integrations');
    expect(await opened[0].run((c) => c.pTTL(hash))).toBe(-1);
  });
});
