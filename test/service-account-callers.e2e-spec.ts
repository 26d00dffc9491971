// deploy/overlays/service-account-callers: the caller pod's projected token and the BFF's JWT
// settings fit together. The BFF is started with the overlay's own variables (JWKS file, issuer,
// audience, BFF_CLIENTS_FILE) and admits a token shaped like the one the kubelet projects for the
// example caller.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { type IServiceAccount, ServiceAccount } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { type Stack, startStack } from './support/stack';

const DIR = join(__dirname, '..', 'deploy', 'overlays', 'service-account-callers');
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML
type Doc = any;
const [serviceAccount, callerDeployment] = parseAllDocuments(read('caller.yaml')).map(
  (d) => d.toJSON() as Doc,
);
const patch: Doc = parse(read('bff.patch.yaml'));
const jwksConfigMap: Doc = parse(read('jwks.configmap.yaml'));
const kustomization: Doc = parse(read('kustomization.yaml'));

const bff = patch.spec.template.spec;
const bffEnv: Record<string, string> = Object.fromEntries(
  bff.containers[0].env.filter((e: Doc) => e.value).map((e: Doc) => [e.name, e.value]),
);
const mountOf = (path: string) =>
  bff.containers[0].volumeMounts.find((m: Doc) => m.mountPath === dirname(path));
const volume = (name: string) => bff.volumes.find((v: Doc) => v.name === name);

const caller = callerDeployment.spec.template.spec;
const tokenVolume = caller.volumes.find((v: Doc) => v.projected).projected.sources[0]
  .serviceAccountToken;
const SUBJECT = `system:serviceaccount:${serviceAccount.metadata.namespace}:${serviceAccount.metadata.name}`;

describe('deploy/overlays/service-account-callers', () => {
  it('is an overlay of the base with the JWKS ConfigMap and the BFF patch', () => {
    expect(kustomization.resources).toEqual(['../../k8s', 'jwks.configmap.yaml']);
    expect(kustomization.patches).toEqual([{ path: 'bff.patch.yaml' }]);
  });

  it('gives the caller a projected token for the audience the BFF requires', () => {
    new ServiceAccount(serviceAccount as IServiceAccount).validate();
    new Deployment(callerDeployment as IDeployment).validate();
    expect(tokenVolume.audience).toBe(bffEnv.BFF_JWT_AUDIENCE);
    expect(tokenVolume.expirationSeconds).toBeGreaterThanOrEqual(600); // the kubelet's minimum
    expect(caller.serviceAccountName).toBe(serviceAccount.metadata.name);
    expect(caller.automountServiceAccountToken).toBe(false);
    const mount = caller.containers[0].volumeMounts[0];
    const tokenPath = `${mount.mountPath}/${tokenVolume.path}`;
    expect(read('caller.yaml')).toContain(`$(cat ${tokenPath})`);
    expect(callerDeployment.spec.template.metadata.labels['posthog-bff/client']).toBe('true');
  });

  it('mounts the JWKS and the callers file where the variables point, as updatable volumes', () => {
    expect(bff.containers[0].env).toContainEqual({ name: 'BFF_CLIENTS', $patch: 'delete' });
    const jwks = mountOf(bffEnv.BFF_JWT_JWKS_FILE);
    expect(volume(jwks.name).configMap.name).toBe(jwksConfigMap.metadata.name);
    expect(Object.keys(jwksConfigMap.data)).toEqual(['jwks.json']);
    expect(bffEnv.BFF_JWT_JWKS_FILE.endsWith('/jwks.json')).toBe(true);
    const clients = mountOf(bffEnv.BFF_CLIENTS_FILE);
    expect(clients.subPath).toBeUndefined(); // a subPath mount is never updated by the kubelet
    expect(volume(clients.name).secret).toEqual({
      secretName: 'posthog-bff-secrets',
      items: [{ key: 'BFF_CLIENTS', path: bffEnv.BFF_CLIENTS_FILE.split('/').pop() }],
    });
  });

  describe('the BFF configured as the overlay says', () => {
    let dir: string;
    let stack: Stack;
    let sign: (claims?: object) => Promise<string>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'bff-overlay-'));
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      const kid = 'cluster-key-1';
      writeFileSync(
        join(dir, 'jwks.json'),
        JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256' }] }),
      );
      writeFileSync(
        join(dir, 'BFF_CLIENTS'),
        JSON.stringify([{ id: 'billing-api', subject: SUBJECT, scopes: ['integration:read'] }]),
      );
      const now = Math.floor(Date.now() / 1000);
      // What the kubelet projects: iss, aud [audience], sub, exp/nbf/iat, kubernetes.io claims.
      sign = (claims = {}) =>
        new SignJWT({
          iss: bffEnv.BFF_JWT_ISSUER,
          aud: [tokenVolume.audience],
          sub: SUBJECT,
          iat: now,
          nbf: now,
          exp: now + tokenVolume.expirationSeconds,
          'kubernetes.io': {
            namespace: serviceAccount.metadata.namespace,
            serviceaccount: { name: serviceAccount.metadata.name, uid: 'b1c2' },
          },
          ...claims,
        })
          .setProtectedHeader({ alg: 'RS256', kid })
          .sign(privateKey);
      stack = await startStack({
        ...bffEnv,
        BFF_CLIENTS: undefined,
        BFF_CLIENTS_FILE: join(dir, 'BFF_CLIENTS'),
        BFF_JWT_JWKS_FILE: join(dir, 'jwks.json'),
      });
    });

    afterAll(async () => {
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('admits the example caller pod’s token, and refuses one for another audience', async () => {
      const headers = (token: string) => ({
        as: null,
        headers: { authorization: `Bearer ${token}` },
      });
      expect((await stack.client.get('/v1/integrations', headers(await sign()))).status).toBe(200);
      const kubeApiToken = await sign({ aud: ['https://kubernetes.default.svc.cluster.local'] });
      expect((await stack.client.get('/v1/integrations', headers(kubeApiToken))).status).toBe(401);
    });
  });
});
