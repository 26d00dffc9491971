// The Prometheus rules and the Grafana dashboard of deploy/observability: promtool checks and unit
// tests, their annotations and runbooks, and every expression evaluated by a real Prometheus
// (Debian's `prometheus` package; .ci/run installs it) scraping the built service
// (`node dist/main.js`: run `npm run build` first) after some traffic.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { freePort, type Running, startMain } from './support/process';
import { BffClient, clientsJson, POSTHOG_KEY } from './support/stack';

const ROOT = resolve(__dirname, '..');
const DIR = join(ROOT, 'deploy/observability');
const RULES_FILE = join(DIR, 'prometheus-rules.yaml');
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax, not a template literal
const DATASOURCE = '${datasource}';
const read = (file: string): string => readFileSync(join(DIR, file), 'utf8');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { type: string; uid: string } }>;
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}

const rulesText = read('prometheus-rules.yaml');
const groups = (parse(rulesText) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const rules = groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule) => rule.alert);
const dashboard = JSON.parse(read('grafana-dashboard.json')) as {
  templating: { list: Variable[] };
  panels: Panel[];
};
const variables = dashboard.templating.list;
const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** The name GitHub gives a heading's anchor. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

const promtool = (...args: string[]): string =>
  execFileSync('promtool', args, { cwd: DIR, encoding: 'utf8', stdio: 'pipe' });

describe('Prometheus rules (deploy/observability/prometheus-rules.yaml)', () => {
  it('pass promtool check rules', () => {
    expect(promtool('check', 'rules', 'prometheus-rules.yaml')).toContain(
      `SUCCESS: ${rules.length} rules found`,
    );
  });

  it('pass their promtool unit tests', () => {
    expect(promtool('test', 'rules', 'prometheus-rules.test.yaml')).toContain('SUCCESS');
  });

  it('have a unit test where each alert fires and one where it stays quiet', () => {
    const cases = (
      parse(read('prometheus-rules.test.yaml')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      }
    ).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({
        alert,
        fires: true,
      });
      expect({ alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert,
        quiet: true,
      });
    }
  });

  it('give every alert a severity, a summary, a description and a runbook in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const anchors = [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const { alert, labels, annotations } of alerts) {
      expect({ alert, severity: labels?.severity }).toEqual({
        alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
      expect(annotations?.summary).toEqual(expect.any(String));
      expect(annotations?.description).toEqual(expect.any(String));
      const runbook = `runbook-${alert?.toLowerCase()}`;
      expect({ alert, url: annotations?.runbook_url }).toEqual({
        alert,
        url: `README.md#${runbook}`,
      });
      expect(anchors).toContain(runbook);
    }
  });

  it('are the groups of the PrometheusRule, indented under its spec', () => {
    const wrapped = read('prometheusrule.yaml');
    const head = wrapped.slice(0, wrapped.indexOf('\nspec:\n') + '\nspec:\n'.length);
    const indented = rulesText.replace(/^(?=.)/gm, '  ');
    expect(wrapped).toBe(head + indented);
    expect(parse(wrapped)).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      spec: { groups },
    });
  });
});

describe('Grafana dashboard (deploy/observability/grafana-dashboard.json)', () => {
  it('takes its Prometheus from the datasource variable: no data source uid is written in it', () => {
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    const uids = [...read('grafana-dashboard.json').matchAll(/"uid":\s*"([^"]*)"/g)].map(
      (m) => m[1],
    );
    expect(new Set(uids.filter((uid) => uid !== 'posthog-bff'))).toEqual(new Set([DATASOURCE]));
    for (const panel of panels) {
      expect({ panel: panel.title, ds: panel.datasource }).toEqual({
        panel: panel.title,
        ds: { type: 'prometheus', uid: DATASOURCE },
      });
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
  });

  it('has panels for each part of the service', () => {
    const titles = panels.map((panel) => panel.title).join('\n');
    for (const part of [
      /Requests by route/,
      /problem type/,
      /p50/,
      /p99/,
      /Cache results/,
      /Hit ratio/,
      /Calls to PostHog by route and status/,
      /PostHog latency/,
      /budget used/,
      /Circuit breaker/,
      /PostHog 429 pauses/,
      /Redis up/,
      /per caller/,
      /Audit records/,
    ]) {
      expect(titles).toMatch(part);
    }
  });

  it('shows traffic and key loads per tenant', () => {
    const { panels } = JSON.parse(read('grafana-dashboard.json')) as {
      panels: Array<{ title: string }>;
    };
    expect(panels.map((panel) => panel.title)).toEqual(
      expect.arrayContaining(['Traffic per tenant', 'PostHog key last loaded, per tenant (age)']),
    );
  });
});

// ---- a real Prometheus ----------------------------------------------------------------------

const JOB = 'posthog-bff';
/** Grafana's variables as a test sets them: $__rate_interval covers several 1 s scrapes. */
const GRAFANA_VALUES: Record<string, string> = {
  __rate_interval: '10s',
  __interval: '1s',
  __range: '1m',
  job: JOB,
  instance: '.+',
};
function substitute(expr: string): string {
  const done = expr.replace(
    /\$\{?(\w+)\}?/g,
    (whole, name: string) => GRAFANA_VALUES[name] ?? whole,
  );
  if (done.includes('$')) throw new Error(`unknown Grafana variable in ${expr}`);
  return done;
}

/** A variable's query as PromQL: label_values(<selector>, label) is Grafana's, the selector is not. */
function variableQuery(variable: Variable): string {
  const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
  const labelValues = /^label_values\((.+),\s*\w+\)$/.exec(query);
  return substitute(labelValues ? labelValues[1] : query);
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string> }> };
}

describe('every expression, evaluated by Prometheus scraping the service', () => {
  let fake: FakePostHog;
  let bff: Running;
  let prometheus: ChildProcess;
  let prometheusLog = '';
  let storage: string;
  let api: string;

  /** How many series `expr` returns now; throws Prometheus's error if it cannot evaluate it. */
  const series = async (expr: string): Promise<number> => {
    const url = `${api}/api/v1/query?query=${encodeURIComponent(expr)}`;
    const answer = (await (await fetch(url)).json()) as QueryAnswer;
    if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
    return answer.data?.result.length ?? 0;
  };
  /** Polls `ok` (an error counts as not yet); fails with the service's and Prometheus's output. */
  const waitFor = (what: string, ok: () => Promise<boolean>) =>
    eventually(() => ok().catch(() => false), {
      timeoutMs: 20_000,
      intervalMs: 200,
      message: () => `${what}\n${bff?.stdout()}${prometheusLog.slice(-3000)}`,
    });

  async function loadedRules() {
    const answer = (await (await fetch(`${api}/api/v1/rules`)).json()) as {
      data: {
        groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
      };
    };
    return answer.data.groups.flatMap((group) => group.rules);
  }

  /** Traffic that makes every series of the service exist: hits, misses, errors, a write. */
  async function traffic(client: BffClient): Promise<void> {
    for (let i = 0; i < 3; i++) await client.get('/v1/integrations');
    await client.get('/v1/integrations', { as: null }); // 401
    for (let i = 0; i < 4; i++) await client.get('/v1/integrations', { as: 'limited' }); // 429
    await client.get('/v1/integrations/5/twilio/phone-numbers'); // PostHog refuses personal keys
    await client.get('/v1/integrations/999999'); // 404
    await client.call('DELETE', '/v1/integrations/2'); // an audited write
  }

  beforeAll(async () => {
    fake = new FakePostHog({ apiKey: POSTHOG_KEY });
    await fake.start();
    const [port, redisPort, prometheusPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    bff = startMain({
      PORT: String(port),
      HOST: '127.0.0.1',
      POSTHOG_HOST: fake.url,
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      POSTHOG_ORGANIZATION_ID: fake.organizationId,
      BFF_CLIENTS: clientsJson(),
      // Nothing listens there: bff_redis_up exists, and is 0.
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      LOG_LEVEL: 'error',
      SHUTDOWN_DRAIN_MS: '0',
    });
    const client = new BffClient(`http://127.0.0.1:${port}`);
    await waitFor('the service', async () => (await fetch(`${client.url}/health/live`)).ok);
    await traffic(client);

    storage = mkdtempSync(join(tmpdir(), 'bff-prometheus-'));
    writeFileSync(
      join(storage, 'prometheus.yml'),
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES_FILE],
        scrape_configs: [{ job_name: JOB, static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
      }),
    );
    api = `http://127.0.0.1:${prometheusPort}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(storage, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(storage, 'data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      prometheusLog += chunk.toString();
    };
    prometheus.stdout?.on('data', keep);
    prometheus.stderr?.on('data', keep);
    prometheus.once('error', (err) => keep(Buffer.from(`cannot run prometheus: ${err.message}`)));
    // A second round of traffic between scrapes, so rates are not all 0, then rules evaluated on
    // at least two scrapes.
    await waitFor('a first scrape', async () => (await series(`up{job="${JOB}"} == 1`)) === 1);
    await traffic(client);
    await waitFor(
      'the recording rules',
      async () => (await series('job:bff_http_slow_requests:ratio_rate6h')) === 1,
    );
    await waitFor('every rule evaluated', async () =>
      (await loadedRules()).every((rule) => rule.health !== 'unknown'),
    );
  }, 60_000);

  afterAll(async () => {
    if (prometheus?.pid && prometheus.exitCode === null) {
      const exited = new Promise((done) => prometheus.once('exit', done));
      prometheus.kill('SIGTERM');
      await exited;
    }
    if (bff && bff.child.exitCode === null) {
      bff.child.kill('SIGTERM');
      await bff.exited;
    }
    await fake?.stop();
    if (storage) rmSync(storage, { recursive: true, force: true });
  });

  it('loads every rule and evaluates it without error', async () => {
    const loaded = await loadedRules();
    expect(loaded.map((rule) => rule.name).sort()).toEqual(
      rules.map((rule) => rule.record ?? rule.alert).sort(),
    );
    for (const rule of loaded) {
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });
    }
  });

  it('evaluates every rule expression; each recording rule has a series', async () => {
    for (const rule of rules) {
      const count = await series(rule.expr);
      if (rule.record)
        expect({ rule: rule.record, count }).toEqual({ rule: rule.record, count: 1 });
    }
  });

  it("has BffRedisDown's expression true for the replica without Redis, and no other alert's", async () => {
    // The latency alerts are left out: on a loaded machine a cold first request may take 1 s.
    const timing = /^BffLatencyBudgetBurn/;
    for (const { alert, expr } of alerts.filter((rule) => !timing.test(rule.alert ?? ''))) {
      const expected = alert === 'BffRedisDown' ? 1 : 0;
      expect({ alert, count: await series(expr) }).toEqual({ alert, count: expected });
    }
  });

  it('evaluates every dashboard query and variable, each panel with at least one series', async () => {
    for (const variable of variables.filter((v) => v.type === 'query')) {
      const count = await series(variableQuery(variable));
      expect({ variable: variable.name, hasValues: count > 0 }).toEqual({
        variable: variable.name,
        hasValues: true,
      });
    }
    for (const panel of panels) {
      let found = 0;
      for (const target of panel.targets ?? []) found += await series(substitute(target.expr));
      expect({ panel: panel.title, hasSeries: found > 0 }).toEqual({
        panel: panel.title,
        hasSeries: true,
      });
    }
  });

  it('refers only to metrics the service exports', async () => {
    const answer = (await (await fetch(`${api}/api/v1/label/__name__/values`)).json()) as {
      data: string[];
    };
    const scraped = new Set(answer.data);
    const expressions = [
      ...rules.map((rule) => rule.expr),
      ...panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...variables.filter((v) => v.type === 'query').map(variableQuery),
    ];
    const named = new Set(
      expressions
        .flatMap((expr) => [...expr.matchAll(/(?<![\w:])((?:bff|process|nodejs)_\w+)/g)])
        .map((m) => m[1]),
    );
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((name) => !scraped.has(name))).toEqual([]);
  });
});
