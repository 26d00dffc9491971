/**
 * The README against the code: every variable the configuration reads is in its table (and no
 * other), every metric the service exports is in its metrics table (and no other), every
 * repository path it names exists, and nothing points outside the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTEGRATION_ROUTES } from '../src/routes/integrations.routes';
import { ORGANIZATION_INTEGRATION_ROUTES } from '../src/routes/organization-integrations.routes';
import { ROLE_REFERENCE_ROUTES } from '../src/routes/role-external-references.routes';
import type { ProxyRoute } from '../src/routes/route';
import { type Stack, startStack } from './support/stack';

const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The rows of the first table under this heading: its first cell's `code` spans. */
function firstColumn(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no "${heading}" section`);
  const lines = readme.slice(start).split('\n');
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table.slice(
    2,
    table.findIndex((l) => !l.startsWith('|')),
  );
  return rows.flatMap((row) => [...row.split('|')[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
}

describe('README', () => {
  it('links only to headings it has: the table of contents reaches every part', () => {
    const slug = (heading: string) =>
      heading
        .trim()
        .toLowerCase()
        .replace(/`/g, '')
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-');
    const prose = readme.replace(/```[\s\S]*?```/g, '');
    const anchors = new Set([...prose.matchAll(/^#{1,4} (.+)$/gm)].map((match) => slug(match[1])));
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1]);
    expect(links.filter((link) => !anchors.has(link))).toEqual([]);
    const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('# Part 1'));
    for (const part of prose.matchAll(/^# (Part \d.+)$/gm))
      expect(contents).toContain(slug(part[1]));
  });

  it('documents exactly the variables the configuration reads', () => {
    // Every variable is a property of the environment's schema (src/config/env.dto.ts).
    const source = readFileSync(join(ROOT, 'src/config/env.dto.ts'), 'utf8');
    const read = [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]{2,})[?!]?(?::| =)/gm)].map((m) => m[1]);
    expect([...new Set(firstColumn('## Configuration'))].sort()).toEqual([...new Set(read)].sort());
  });

  it('lists every proxied route with its scope and whether it is cached', () => {
    const routes: ProxyRoute[] = [
      ...Object.values(INTEGRATION_ROUTES),
      ...Object.values(ORGANIZATION_INTEGRATION_ROUTES),
      ...Object.values(ROLE_REFERENCE_ROUTES),
    ];
    const documented = [
      ...readme.matchAll(
        // the path cell may hold an escaped `\|` (`a\|b`: one of two parameters)
        /^\| (GET|POST|PATCH|DELETE) \| `([^`?]+)(?:[^|\\]|\\\|)*\| ([a-z_:]+) \| ([^|]+) \|$/gm,
      ),
    ].map(([, method, path, scope, cache]) => {
      const cached = cache.trim() === 'yes';
      return `${method} ${path} ${scope} ${cached ? 'cached' : 'not cached'}`;
    });
    const actual = routes.map(
      (r) => `${r.method} ${r.path} ${r.scope} ${r.cache ? 'cached' : 'not cached'}`,
    );
    // GET /v1/audit is the BFF's own route, not a proxied one.
    expect(documented.filter((row) => !row.startsWith('GET /v1/audit ')).sort()).toEqual(
      actual.sort(),
    );
  });

  describe('metrics table', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack();
    });
    afterAll(() => stack?.close());

    it('lists every bff_* metric the service exports, and none it does not', async () => {
      const text = (await stack.client.get('/metrics', { as: null })).text;
      const exported = new Set(
        [...text.matchAll(/^# TYPE (bff_\w+)/gm)].map((m) => m[1]).filter(Boolean),
      );
      const documented = firstColumn('### Metrics (`GET /metrics`, Prometheus text)').filter((n) =>
        n.startsWith('bff_'),
      );
      // Registered only once Redis is configured (this stack has none).
      const redisOnly = ['bff_redis_up'];
      expect([...exported].sort()).toEqual(documented.filter((n) => !redisOnly.includes(n)).sort());
    });
  });

  it('names only paths that exist in the repository', () => {
    const named = [
      ...readme.matchAll(
        /`((?:src|test|deploy|docs|bench|clients)\/[^`\s*<]*|[A-Z]+\.md|LICENSE)`/g,
      ),
    ].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it('points nowhere outside the repository (no ../ paths)', () => {
    expect(readme).not.toMatch(/\.\.\//);
  });
});
