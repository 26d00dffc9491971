// DOCS_ENABLED=false: no Swagger UI and no document (nor the module that serves them); /v1 unchanged.
// The built service loads the docs' packages only with docs on.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPENAPI_FILE } from '../src/docs/write-openapi';
import { freePort, MAIN, startNode } from './support/process';
import { clientsJson, POSTHOG_KEY, type Stack, startStack } from './support/stack';

describe('DOCS_ENABLED=false', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ DOCS_ENABLED: 'false' });
  });
  afterAll(() => stack.close());

  it('answers 404 for /docs and /docs-json, and /v1 as usual', async () => {
    for (const path of ['/docs', '/docs-json']) {
      expect({ path, status: (await stack.client.get(path, { as: null })).status }).toEqual({
        path,
        status: 404,
      });
    }
    expect((await stack.client.get('/v1/integrations/1')).status).toBe(200);
  });
});

describe('the packages of the docs in `node dist/main.js`', () => {
  const RECORDER = join(__dirname, 'support', 'record-loaded-modules.js');
  const DOCS_PACKAGE = /\/node_modules\/(@nestjs\/swagger|swagger-ui-dist|@fastify\/static)\//;

  /** Starts the built service, reads /docs-json, stops it: the docs' modules it had loaded. */
  async function docsModules(docsEnabled: string, docsJsonStatus: number): Promise<string[]> {
    const file = join(mkdtempSync(join(tmpdir(), 'bff-modules-')), 'loaded.txt');
    const port = await freePort();
    const main = startNode(['--require', RECORDER, MAIN], {
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      BFF_CLIENTS: clientsJson(),
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_DRAIN_MS: '0',
      DOCS_ENABLED: docsEnabled,
      LOADED_MODULES_FILE: file,
    });
    await main.waitFor(/"msg":"listening"/);
    const docs = await fetch(`http://127.0.0.1:${port}/docs-json`);
    expect(docs.status).toBe(docsJsonStatus);
    if (docs.ok) expect(await docs.json()).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    main.child.kill('SIGTERM');
    expect((await main.exited).code).toBe(0);
    const loaded = readFileSync(file, 'utf8').split('\n');
    expect(loaded).toContain(MAIN); // the recorder saw the service
    return loaded.filter((path) => DOCS_PACKAGE.test(path));
  }

  it('DOCS_ENABLED=false: loads no module of @nestjs/swagger, swagger-ui-dist or @fastify/static', async () => {
    expect(await docsModules('false', 404)).toEqual([]);
  });

  it('DOCS_ENABLED=true: loads all three and serves the committed openapi.json at /docs-json', async () => {
    const loaded = await docsModules('true', 200);
    for (const name of ['@nestjs/swagger', 'swagger-ui-dist', '@fastify/static']) {
      expect(loaded.some((path) => path.includes(`/node_modules/${name}/`))).toBe(true);
    }
  });
});
