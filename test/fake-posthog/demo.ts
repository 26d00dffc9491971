/**
 * `npm run demo`: the built BFF (dist/main.js) against an in-process fake PostHog, on 127.0.0.1
 * (HOST) port 3000 (PORT). Two tenants, `web` and `mobile`: two projects of the fake, each with its
 * own personal key (the mobile one limited to its project), in a BFF_TENANTS_FILE whose key files
 * live in a temporary directory. One demo caller holds every scope and both tenants (`web` its
 * default). Prints the caller's token as an `export TOKEN=...` line, a curl line per tenant and the
 * docs URL once the BFF is up.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakePostHog, type FakePostHogOptions } from './fake-posthog';
import { DEMO_API_KEY, DEMO_MOBILE_API_KEY } from './seed';

// PostHog's six scopes (src/routes/scopes.ts POSTHOG_SCOPES), spelled out: the fake-posthog image
// copies test/fake-posthog alone, so nothing here may import from src/.
const SCOPES = [
  'integration:read',
  'integration:write',
  'organization_integration:read',
  'organization_integration:write',
  'organization:read',
  'organization:write',
];
const BFF_ENTRY = resolve(__dirname, '../../dist/main.js');
const READY_TIMEOUT_MS = 30_000;
const WEB_PROJECT = 1;
const MOBILE_PROJECT = 2;

/** One simulated PostHog host: the web project with an unrestricted key, the mobile one with its own. */
const FAKE: Omit<FakePostHogOptions, 'port'> = {
  apiKey: DEMO_API_KEY,
  projectId: WEB_PROJECT,
  otherProjectIds: [MOBILE_PROJECT],
  otherKeys: {
    [DEMO_MOBILE_API_KEY]: {
      scopes: ['integration:read', 'integration:write'],
      scopedTeams: [MOBILE_PROJECT],
    },
  },
};

/** The preferred port (FAKE_POSTHOG_PORT or 8010), or a random one when it is taken. */
async function startFake(): Promise<FakePostHog> {
  const port = Number(process.env.FAKE_POSTHOG_PORT || 8010);
  const preferred = new FakePostHog({ ...FAKE, port });
  try {
    await preferred.start();
    return preferred;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
  }
  const fallback = new FakePostHog({ ...FAKE, port: 0 });
  await fallback.start();
  return fallback;
}

/**
 * The BFF_TENANTS_FILE of the two tenants and their key files, in a new temporary directory (its
 * path is returned with the file's). The mobile tenant has no organization: its key is limited to
 * its project, which PostHog refuses on every organization route.
 */
function writeTenants(fake: FakePostHog): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'posthog-bff-demo-'));
  const keyFile = (name: string, key: string) => {
    const path = join(dir, `${name}.key`);
    writeFileSync(path, key, { mode: 0o600 });
    return path;
  };
  const tenants = [
    {
      name: 'web',
      posthog_host: fake.url,
      project_id: String(WEB_PROJECT),
      organization_id: fake.organizationId,
      api_key_file: keyFile('web', DEMO_API_KEY),
    },
    {
      name: 'mobile',
      posthog_host: fake.url,
      project_id: String(MOBILE_PROJECT),
      api_key_file: keyFile('mobile', DEMO_MOBILE_API_KEY),
    },
  ];
  const file = join(dir, 'tenants.json');
  writeFileSync(file, JSON.stringify(tenants, null, 2), { mode: 0o600 });
  return { dir, file };
}

/** Whether host:port can be bound now (checked before anything starts, for a one-line answer). */
function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done(true)));
  });
}

async function waitUntilLive(url: string, stillRunning: () => boolean): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && stillRunning()) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return false;
}

async function main(): Promise<void> {
  if (!existsSync(BFF_ENTRY)) throw new Error(`${BFF_ENTRY} not found: run \`npm run build\``);
  const host = process.env.HOST || '127.0.0.1';
  const port = process.env.PORT || '3000';
  if (port !== '0' && !(await portIsFree(host, Number(port)))) {
    console.error(
      `demo: port ${port} on ${host} is already in use; start it on another: PORT=${Number(port) + 1} npm run demo`,
    );
    process.exit(1);
  }
  const fake = await startFake();
  const tenants = writeTenants(fake);
  process.on('exit', () => rmSync(tenants.dir, { recursive: true, force: true }));
  const token = `demo-token-${randomBytes(12).toString('hex')}`;
  const clients = [
    {
      id: 'demo',
      token_sha256: createHash('sha256').update(token).digest('hex'),
      scopes: SCOPES,
      tenants: ['web', 'mobile'],
    },
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: host,
    PORT: port,
    BFF_TENANTS_FILE: tenants.file,
    BFF_CLIENTS: JSON.stringify(clients),
    // Nothing to drain for: Ctrl-C stops at once (in-flight requests still finish).
    SHUTDOWN_DRAIN_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
  // Settings from the shell that would point the demo elsewhere: in-memory cache, the fake's
  // tenants only (the POSTHOG_* variables must not be set beside BFF_TENANTS_FILE).
  for (const name of Object.keys(env)) {
    if (name.startsWith('POSTHOG_') || ['REDIS_URL', 'BFF_CLIENTS_FILE'].includes(name)) {
      delete env[name];
    }
  }

  // Own process group: a terminal's Ctrl-C reaches the BFF once, forwarded from here.
  const child = spawn(process.execPath, [BFF_ENTRY], { env, stdio: 'inherit', detached: true });
  let forwarded = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (forwarded) return;
      forwarded = true;
      child.kill(signal);
    });
  }
  process.on('exit', () => child.kill('SIGTERM'));
  child.on('error', (err) => {
    console.error(`demo: could not start the BFF: ${err.message}`);
    fake.stop().finally(() => process.exit(1));
  });
  child.on('exit', (code) => {
    fake.stop().finally(() => process.exit(code ?? (forwarded ? 0 : 1)));
  });

  const bffUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const live = await waitUntilLive(`${bffUrl}/health/live`, () => child.exitCode === null);
  if (child.exitCode !== null) return;
  console.log(
    [
      '',
      `posthog-bff demo: ${bffUrl}${live ? '' : ' (not answering /health/live yet)'}, in front of a simulated PostHog at ${fake.url}`,
      `(another port: PORT=3001 npm run demo)`,
      '',
      'In another terminal:',
      `  export TOKEN=${token}`,
      `  curl -s -H "Authorization: Bearer $TOKEN" "${bffUrl}/v1/integrations?kind=slack&limit=20"`,
      `  curl -s -H "Authorization: Bearer $TOKEN" "${bffUrl}/v1/tenants/mobile/integrations?kind=slack&limit=20"`,
      '',
      `Two tenants: web (project ${WEB_PROJECT}, the token's default: /v1/...) and mobile (project ${MOBILE_PROJECT},`,
      'its own key: /v1/tenants/mobile/...), each with its own integrations; GET /v1/tenants lists them.',
      `API docs: ${bffUrl}/docs`,
      'The 8 routes marked ¹ in the README (e.g. /v1/integrations/5/twilio/phone-numbers) answer',
      '502 /problems/upstream-refuses-personal-keys, as with the real PostHog: it refuses every',
      'personal API key on those actions.',
      'Ctrl-C stops both.',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
