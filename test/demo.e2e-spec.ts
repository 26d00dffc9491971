/**
 * `npm run demo` as a user runs it (the demo script as a process, the built dist/main.js under
 * it): the banner, the README's quick-start call and its answer, the mobile tenant's call, the
 * bind address, a busy port and Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { freePort, type Running, startNode } from './support/process';

const ROOT = join(__dirname, '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');

function startDemo(port: number): Running {
  return startNode([TS_NODE, '--transpile-only', join(ROOT, 'test/fake-posthog/demo.ts')], {
    PORT: String(port),
    FAKE_POSTHOG_PORT: '0',
  });
}

/** The quick start's curl line and the answer the README shows for it. */
function readmeExample(): { curl: string; url: string; answer: RegExp } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(
    readme.indexOf('## Quick start'),
    readme.indexOf('\n## ', readme.indexOf('## Quick start') + 3),
  );
  const match = quickStart.match(/^(curl .*"(http:[^"]+)")\n# (.+)$/m);
  if (!match) throw new Error('the quick start has no curl line followed by its answer');
  // `...` in the README stands for any text; everything else must match exactly.
  const pattern = match[3].split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { curl: match[1], url: match[2], answer: new RegExp(`^${pattern.join('.*')}$`) };
}

describe('npm run demo', () => {
  let port: number;
  let demo: Running;
  let banner: string;

  beforeAll(async () => {
    port = await freePort();
    demo = startDemo(port);
    banner = await demo.waitFor(/Ctrl-C stops both/);
  });
  afterAll(() => {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  });

  it('prints export TOKEN=..., the README curl line on its port, /docs and how to change the port', () => {
    const example = readmeExample();
    expect(banner).toMatch(/^ {2}export TOKEN=demo-token-[0-9a-f]+$/m);
    expect(banner).toContain(`  ${example.curl.replace(':3000/', `:${port}/`)}\n`);
    expect(banner).toContain(`API docs: http://127.0.0.1:${port}/docs`);
    expect(banner).toContain('PORT=3001 npm run demo');
  });

  it('keeps NestJS start-up lines out: the one log line of a start is `listening` on 127.0.0.1', async () => {
    const output = await demo.waitFor(/"msg":"listening"/);
    const logLines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ msg: 'listening', host: '127.0.0.1', port }),
    ]);
    expect(output).not.toMatch(/RouterExplorer|successfully started/);
  });

  it('answers the README quick-start call with the answer the README shows', async () => {
    const token = banner.match(/export TOKEN=(\S+)/)?.[1];
    const { url, answer } = readmeExample();
    const response = await fetch(url.replace(':3000/', `:${port}/`), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(answer);
  });

  it('answers a route PostHog refuses personal keys on with /problems/upstream-refuses-personal-keys, as the banner says', async () => {
    const token = banner.match(/export TOKEN=(\S+)/)?.[1];
    const response = await fetch(
      `http://127.0.0.1:${port}/v1/integrations/5/twilio/phone-numbers`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(response.status).toBe(502);
    expect(((await response.json()) as { type: string }).type).toBe(
      '/problems/upstream-refuses-personal-keys',
    );
    expect(banner).toContain('/problems/upstream-refuses-personal-keys');
  });

  it('prints the same curl line for the mobile tenant under the README one', () => {
    const web = `  ${readmeExample().curl.replace(':3000/', `:${port}/`)}\n`;
    const mobile = web.replace('/v1/integrations', '/v1/tenants/mobile/integrations');
    expect(banner).toContain(web + mobile);
  });

  // TO ENABLE once tenants are in src/ (BFF_TENANTS_FILE, callers' `tenants`, /v1/tenants/:tenant/...,
  // GET /v1/tenants): change `it.skip` to `it`.
  it('answers the mobile tenant’s curl from the mobile project, and lists the caller’s two tenants', async () => {
    const headers = { authorization: `Bearer ${banner.match(/export TOKEN=(\S+)/)?.[1]}` };
    const mobile = await fetch(
      `http://127.0.0.1:${port}/v1/tenants/mobile/integrations?kind=slack&limit=20`,
      { headers },
    );
    expect(mobile.status).toBe(200);
    // The mobile project's Slack row (the fake seeds project 2 with ids 1000 higher), not web's 1.
    expect(await mobile.json()).toMatchObject({ items: [{ id: 1001, kind: 'slack' }], total: 1 });
    const tenants = await fetch(`http://127.0.0.1:${port}/v1/tenants`, { headers });
    expect(tenants.status).toBe(200);
    expect(await tenants.json()).toEqual({
      items: [
        { name: 'web', default: true },
        { name: 'mobile', default: false },
      ],
    });
  });

  it('serves /docs', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('is not reachable on the machine’s other addresses', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    // A machine with loopback only has nothing else to reach it on; the listening line above
    // shows the bind address either way.
    if (!external) return;
    await expect(fetch(`http://${external.address}:${port}/health/live`)).rejects.toThrow();
  });

  it('stops both processes on Ctrl-C (SIGINT), exit code 0, port released', async () => {
    demo.child.kill('SIGINT');
    const exit = await demo.exited;
    expect(exit.code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });
});

describe('npm run demo on a busy port', () => {
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => busy.close(resolve)));

  it('says so in one line, names another port, exits 1 without a start-up banner', async () => {
    const exit = await startDemo(port).exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim().split('\n')).toEqual([
      `demo: port ${port} on 127.0.0.1 is already in use; start it on another: PORT=${port + 1} npm run demo`,
    ]);
    expect(exit.stdout).toBe('');
  });
});
