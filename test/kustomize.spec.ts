// The kustomize base and every overlay, rendered by `kubectl kustomize` as `kubectl apply -k`
// would apply them, each object validated against its Kubernetes schema (kubernetes-models); and
// what the production overlay promises: namespace, generated configuration, the key from a file,
// Redis required, the observability component.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IConfigMap, INamespace } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = resolve(__dirname, '..');
const OVERLAYS = readdirSync(join(ROOT, 'deploy/overlays')).map(
  (name) => `deploy/overlays/${name}`,
);
const NAMESPACE = 'posthog-bff';

type Dict = Record<string, unknown>;
interface KubeObject extends Dict {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

/** What `kubectl apply -k <dir>` would apply. */
function kustomize(dir: string, root = ROOT): KubeObject[] {
  let output: string;
  try {
    output = execFileSync('kubectl', ['kustomize', join(root, dir)], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? error);
    throw new Error(
      `kubectl kustomize ${dir} failed (components need kubectl 1.21 or later): ${stderr}`,
    );
  }
  return parseAllDocuments(output).map((doc) => doc.toJS() as KubeObject);
}

/** Custom resources of the Prometheus Operator: kubernetes-models has no schema for them. */
const OPERATOR_KINDS = [
  'monitoring.coreos.com/v1 PrometheusRule',
  'monitoring.coreos.com/v1 ServiceMonitor',
];

/** The kubernetes-models class of a built-in kind (`kubernetes-models/<group>/<version>`). */
function validate(object: KubeObject): void {
  if (OPERATOR_KINDS.includes(`${object.apiVersion} ${object.kind}`)) {
    expect(object).toMatchObject({
      metadata: { name: expect.any(String) },
      spec: expect.any(Object),
    });
    return;
  }
  const models = require(`kubernetes-models/${object.apiVersion}`) as Record<
    string,
    new (
      data: Dict,
    ) => { validate(): void }
  >;
  const Model = models[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

const one = <T>(objects: KubeObject[], kind: string, name?: string): T => {
  const found = objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, got ${found.length}`);
  return found[0] as unknown as T;
};

describe.each(['deploy/k8s', 'deploy/k8s/monitoring', ...OVERLAYS])(
  'kubectl kustomize %s',
  (dir) => {
    it('renders objects that each validate against their Kubernetes schema', () => {
      const objects = kustomize(dir);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) {
        expect(() => validate(object)).not.toThrow();
      }
    });
  },
);

describe('production overlay (deploy/overlays/production)', () => {
  const objects = kustomize('deploy/overlays/production');
  const base = kustomize('deploy/k8s');
  const deployment = one<IDeployment>(objects, 'Deployment');
  const container = deployment.spec?.template.spec?.containers[0];
  const podSpec = deployment.spec?.template.spec;
  const settingsName = container?.envFrom?.[0].configMapRef?.name ?? '';
  const settings = one<IConfigMap>(objects, 'ConfigMap', settingsName);
  const env = (name: string) => container?.env?.find((variable) => variable.name === name);

  it('puts everything in the namespace posthog-bff, under the restricted Pod Security Standard', () => {
    const namespace = one<INamespace>(objects, 'Namespace');
    expect(namespace.metadata?.name).toBe(NAMESPACE);
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect({
        object: `${object.kind}/${object.metadata.name}`,
        ns: object.metadata.namespace,
      }).toEqual({ object: `${object.kind}/${object.metadata.name}`, ns: NAMESPACE });
    }
  });

  it("loads its settings from a generated ConfigMap (hash in its name) instead of the base's", () => {
    expect(container?.envFrom).toEqual([{ configMapRef: { name: settingsName } }]);
    expect(settingsName).toMatch(/^posthog-bff-settings-[a-z0-9]{10}$/);
    expect(objects.filter((o) => o.metadata.name === 'posthog-bff-config')).toEqual([]);
    const baseSettings = one<IConfigMap>(base, 'ConfigMap', 'posthog-bff-config');
    const missing = Object.keys(baseSettings.data ?? {}).filter(
      (key) => !(key in (settings.data ?? {})),
    );
    expect(missing).toEqual([]);
  });

  it('rolls the pods when a setting changes: the pod template names a new ConfigMap', () => {
    const copy = mkdtempSync(join(tmpdir(), 'bff-kustomize-'));
    try {
      cpSync(join(ROOT, 'deploy'), join(copy, 'deploy'), { recursive: true });
      const file = join(copy, 'deploy/overlays/production/config.env');
      writeFileSync(file, readFileSync(file, 'utf8').replace('LOG_LEVEL=info', 'LOG_LEVEL=debug'));
      const changed = kustomize('deploy/overlays/production', copy);
      const changedDeployment = one<IDeployment>(changed, 'Deployment');
      const changedName =
        changedDeployment.spec?.template.spec?.containers[0].envFrom?.[0].configMapRef?.name;
      expect(changedName).toMatch(/^posthog-bff-settings-/);
      expect(changedName).not.toBe(settingsName);
      expect(one<IConfigMap>(changed, 'ConfigMap', changedName).data?.LOG_LEVEL).toBe('debug');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('requires Redis: REDIS_REQUIRED=true and REDIS_URL no longer optional', () => {
    expect(settings.data?.REDIS_REQUIRED).toBe('true');
    expect(env('REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'posthog-bff-secrets',
      key: 'REDIS_URL',
      optional: false,
    });
  });

  it('reads the PostHog key from a file of the Secret volume, not from the environment', () => {
    expect(env('POSTHOG_API_KEY')).toBeUndefined();
    expect(settings.data?.POSTHOG_API_KEY).toBeUndefined();
    const file = env('POSTHOG_API_KEY_FILE')?.value ?? '';
    const mount = container?.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount).toMatchObject({ readOnly: true });
    // A directory mount: the kubelet does not update a subPath mount when the Secret changes.
    expect(mount?.subPath).toBeUndefined();
    const volume = podSpec?.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.secret).toMatchObject({
      secretName: 'posthog-bff-secrets',
      items: [{ key: 'POSTHOG_API_KEY', path: file.slice(`${mount?.mountPath}/`.length) }],
    });
    expect(file).toBe('/var/run/secrets/posthog/api-key');
  });

  it("keeps the rest of the base's Deployment as it is", () => {
    const strip = (d: IDeployment) => {
      const copy = structuredClone(d);
      delete copy.metadata?.namespace;
      const c = copy.spec?.template.spec?.containers[0];
      if (c) {
        delete c.envFrom;
        c.env = c.env?.filter(
          (v) => !/^(POSTHOG_API_KEY|POSTHOG_API_KEY_FILE|REDIS_URL)$/.test(v.name),
        );
        c.volumeMounts = c.volumeMounts?.filter((m) => m.name !== 'posthog-api-key');
      }
      const spec = copy.spec?.template.spec;
      if (spec) spec.volumes = spec.volumes?.filter((v) => v.name !== 'posthog-api-key');
      return copy;
    };
    expect(strip(deployment)).toEqual(strip(one<IDeployment>(base, 'Deployment')));
  });

  it('includes the observability component: ServiceMonitor, PrometheusRule, dashboard ConfigMap', () => {
    const observability = join(ROOT, 'deploy/observability');
    const rules = parse(readFileSync(join(observability, 'prometheus-rules.yaml'), 'utf8'));
    expect(one<Dict>(objects, 'PrometheusRule')).toMatchObject({ spec: { groups: rules.groups } });
    expect(one<KubeObject>(objects, 'ServiceMonitor').metadata.name).toBe('posthog-bff');
    const dashboard = one<IConfigMap>(objects, 'ConfigMap', 'posthog-bff-dashboard');
    expect(dashboard.metadata?.labels?.grafana_dashboard).toBe('1');
    expect(dashboard.data?.['posthog-bff.json']).toBe(
      readFileSync(join(observability, 'grafana-dashboard.json'), 'utf8'),
    );
  });
});
