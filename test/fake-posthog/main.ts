/**
 * Runs the fake PostHog standalone (e.g. in docker-compose):
 *   FAKE_POSTHOG_PORT (8010), FAKE_POSTHOG_HOST (127.0.0.1; 0.0.0.0 in a container),
 *   FAKE_POSTHOG_API_KEY (phx_demo_key_not_secret), FAKE_POSTHOG_DELAY_MS (0),
 *   FAKE_POSTHOG_TEST_ONLY_OPEN_REFUSED_ACTIONS (unset: the 8 actions PostHog refuses to every
 *   personal key are refused, as PostHog does; `true`: a test-only switch that answers them),
 *   FAKE_POSTHOG_ORGANIZATION_ID (a fixed UUID), FAKE_POSTHOG_PROJECT_ID (1),
 *   FAKE_POSTHOG_OTHER_PROJECT_IDS (none; e.g. `2,3`: more projects of the organization),
 *   FAKE_POSTHOG_OTHER_KEYS (none; a JSON object of more keys by value, each a FakeKey, e.g.
 *   `{"phx_mobile": {"scopedTeams": [2]}}`).
 * `GET /_health` answers 200 {"ok":true} without auth. SIGTERM/SIGINT: close and exit 0.
 */
import { type FakeKey, FakePostHog } from './fake-posthog';
import { DEMO_API_KEY } from './seed';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

function idsFromEnv(name: string): number[] {
  const raw = process.env[name] ?? '';
  if (!/^(\d+(,\d+)*)?$/.test(raw)) throw new Error(`${name} must be ids separated by commas`);
  return raw ? raw.split(',').map(Number) : [];
}

function keysFromEnv(name: string): Record<string, Partial<FakeKey>> {
  const keys: unknown = JSON.parse(process.env[name] || '{}');
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new Error(`${name} must be a JSON object of keys by value`);
  }
  return keys as Record<string, Partial<FakeKey>>;
}

async function main(): Promise<void> {
  const fake = new FakePostHog({
    apiKey: process.env.FAKE_POSTHOG_API_KEY || DEMO_API_KEY,
    key: {
      testOnlyOpenRefusedActions:
        process.env.FAKE_POSTHOG_TEST_ONLY_OPEN_REFUSED_ACTIONS === 'true',
    },
    otherKeys: keysFromEnv('FAKE_POSTHOG_OTHER_KEYS'),
    projectId: intFromEnv('FAKE_POSTHOG_PROJECT_ID', 1),
    otherProjectIds: idsFromEnv('FAKE_POSTHOG_OTHER_PROJECT_IDS'),
    organizationId: process.env.FAKE_POSTHOG_ORGANIZATION_ID || undefined,
    host: process.env.FAKE_POSTHOG_HOST || '127.0.0.1',
    port: intFromEnv('FAKE_POSTHOG_PORT', 8010),
    delayMs: intFromEnv('FAKE_POSTHOG_DELAY_MS', 0),
  });
  const url = await fake.start();
  console.log(
    `fake PostHog listening on ${url} (projects ${fake.projectIds.join(', ')}, organization ${fake.organizationId})`,
  );
  const shutdown = () => {
    fake.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  console.error(`fake PostHog failed to start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
