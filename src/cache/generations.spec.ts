import type { Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { Generations } from './generations';

const REDIS_URL = process.env.REDIS_URL;

function redisService(url: string | undefined, prefix: string, lines: string[] = []) {
  const config = {
    posthog: { apiKey: 'phx_unit_not_a_key' },
    redis: url ? { form: 'url', url, keyPrefix: prefix, timeoutMs: 1000 } : undefined,
    logLevel: 'info',
  } as Config;
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
    const before = await generations.current('integrations');
    expect(before.shared).toBe(false);
    await generations.bump('integrations');
    expect((await generations.current('integrations')).tag).not.toBe(before.tag);
    expect(await generations.current('role-external-references')).toEqual(
      await generations.current('role-external-references'),
    );
  });
});

(REDIS_URL ? describe : describe.skip)('Generations on Redis (REDIS_URL)', () => {
  const prefix = `bff-unit-gen-${process.pid}-${Date.now()}:`;
  const opened: RedisService[] = [];
  const replica = async (onNewEpoch: () => void = () => undefined, lines: string[] = []) => {
    const { service, logger } = redisService(REDIS_URL, prefix, lines);
    opened.push(await connected(service));
    return new Generations(service, logger, onNewEpoch);
  };
  const hash = `${prefix}generations`;
  const forget = () => opened[0].run((c) => c.del(hash));

  afterAll(async () => {
    await forget();
    for (const service of opened) await service.onModuleDestroy();
  });

  it('shares numbers between replicas: a bump on one is seen by the other at its next read', async () => {
    const a = await replica();
    const b = await replica();
    const before = await b.current('integrations');
    expect(before.shared).toBe(true);
    expect(before).toEqual(await a.current('integrations'));
    await a.bump('integrations');
    const after = await b.current('integrations');
    expect(after.shared).toBe(true);
    expect(after.tag).not.toBe(before.tag);
    expect(after).toEqual(await a.current('integrations'));
  });

  it('never hands out an earlier tag after Redis forgot the hash (restart, eviction, flush)', async () => {
    const newEpochs: string[] = [];
    const lines: string[] = [];
    const a = await replica(() => newEpochs.push('a'), lines);
    await a.bump('organization-integrations');
    const seen = new Set([(await a.current('organization-integrations')).tag]);
    await a.bump('organization-integrations');
    seen.add((await a.current('organization-integrations')).tag);

    await forget(); // numbers would restart at 0 and revive keys of pre-write entries
    await a.bump('organization-integrations'); // the bump itself writes a new epoch
    const after = await a.current('organization-integrations');
    expect(seen.has(after.tag)).toBe(false);
    expect(newEpochs).toEqual(['a']);
    expect(lines.filter((l) => l.includes('new epoch'))).toHaveLength(1);

    // A read of a forgotten hash sets the epoch too; every replica then reads the same one.
    await forget();
    const b = await replica();
    const onB = await b.current('organization-integrations');
    expect(seen.has(onB.tag) || onB.tag === after.tag).toBe(false);
    expect(await a.current('organization-integrations')).toEqual(onB);
  });

  it('keeps the hash without a TTL, so volatile-* eviction policies never pick it', async () => {
    const a = await replica();
    await a.bump('integrations');
    expect(await opened[0].run((c) => c.pTTL(hash))).toBe(-1);
  });
});
