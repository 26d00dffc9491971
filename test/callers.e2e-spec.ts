// Service-account callers (JWTs verified against a JWKS served over loopback, or read from a file)
// and caller rotation through BFF_CLIENTS_FILE without a restart. Keys are generated here; the
// fake PostHog's request log shows that a refused caller never reaches it.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';
import { CallerRegistry } from '../src/auth/caller-registry';
import { eventually } from './support/eventually';
import { expectProblem } from './support/expectations';
import { clientsJson, type Stack, startStack } from './support/stack';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'posthog-bff';
const SUBJECT = 'system:serviceaccount:billing:billing-api';
const JWT_CALLERS = [
  { id: 'billing-sa', subject: SUBJECT, scopes: ['integration:read'] },
  {
    id: 'ops-sa',
    subject: 'system:serviceaccount:ops:ops-api',
    scopes: ['integration:read', 'integration:write'],
  },
];

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyLike;
  publicKey: KeyLike;
  jwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

const now = () => Math.floor(Date.now() / 1000);

/** A token like a Kubernetes projected service-account token, with `claims` changed. */
function sign(key: SigningKey, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({
    iss: ISSUER,
    aud: [AUDIENCE],
    sub: SUBJECT,
    iat: now(),
    nbf: now(),
    exp: now() + 3600,
    'kubernetes.io': { namespace: 'billing', serviceaccount: { name: 'billing-api' } },
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWKS document served over loopback; `keys` can be swapped while it runs. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private readonly server: Server = createServer((_, res) => {
    this.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/openid/v1/jwks`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function callersWith(extra: object[]): string {
  return JSON.stringify([...JSON.parse(clientsJson()), ...extra]);
}

const bearer = (token: string) => ({ as: null, headers: { authorization: `Bearer ${token}` } });

function expectNoTokenLogged(stack: Stack, token: string): void {
  const [, , signature] = token.split('.');
  for (const line of stack.logs) {
    expect(line).not.toContain(token);
    if (signature) expect(line).not.toContain(signature);
  }
}

describe('service-account callers: JWKS over loopback', () => {
  const jwks = new JwksServer();
  let stack: Stack;
  let rsa: SigningKey;
  let ec: SigningKey;

  beforeAll(async () => {
    rsa = await signingKey('rsa-1', 'RS256');
    ec = await signingKey('ec-1', 'ES256');
    jwks.keys = [rsa.jwk, ec.jwk];
    stack = await startStack({
      BFF_CLIENTS: callersWith(JWT_CALLERS),
      BFF_JWT_JWKS_URL: await jwks.start(),
      BFF_JWT_ISSUER: ISSUER,
      BFF_JWT_AUDIENCE: AUDIENCE,
    });
  });

  afterAll(async () => {
    await stack.close();
    await jwks.stop();
  });

  beforeEach(() => stack.fake.reset());

  it('admits a valid RS256 token as the caller whose subject it names, with its scopes', async () => {
    const token = await sign(rsa);
    const read = await stack.client.get('/v1/integrations?limit=1', bearer(token));
    expect(read.status).toBe(200);
    expect(stack.fake.requests).toHaveLength(1);
    expect(stack.fake.requests[0].headers.authorization).not.toContain(token);
    const line = stack.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.request_id === read.headers.get('x-request-id'));
    expect(line).toMatchObject({ caller: 'billing-sa', status: 200 });

    // billing-sa has integration:read only
    const write = await stack.client.call('POST', '/v1/integrations', {
      ...bearer(token),
      body: { kind: 'slack' },
    });
    expectProblem(write, 403, 'forbidden', { detail: 'billing-sa' });
    expect(stack.fake.requests).toHaveLength(1);
    expectNoTokenLogged(stack, token);
  });

  it('admits a valid ES256 token, mapped by its own subject', async () => {
    const token = await sign(ec, { sub: 'system:serviceaccount:ops:ops-api' });
    const created = await stack.client.call('POST', '/v1/integrations', {
      ...bearer(token),
      body: { kind: 'slack', config: {} },
    });
    expect(created.status).toBe(201);
    expect(stack.fake.requestsTo('/integrations', 'POST')).toHaveLength(1);
    const audit = stack.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'audit' && l.request_id === created.headers.get('x-request-id'));
    expect(audit).toMatchObject({
      caller: 'ops-sa',
      subject: 'system:serviceaccount:ops:ops-api',
      created_id: String(created.json.id),
    });
  });

  const refusals: Array<[string, () => Promise<string>]> = [
    ['a wrong audience', () => sign(rsa, { aud: 'kubernetes' })],
    ['a wrong issuer', () => sign(rsa, { iss: 'https://evil.example' })],
    [
      'an expired token',
      () => sign(rsa, { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }),
    ],
    ['a token not yet valid', () => sign(rsa, { nbf: now() + 3600 })],
    ['no exp', () => sign(rsa, { exp: undefined })],
    ['an unconfigured subject', () => sign(rsa, { sub: 'system:serviceaccount:ns:stranger' })],
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none', kid: 'rsa-1', typ: 'JWT' })}.${(await sign(rsa)).split('.')[1]}.`,
    ],
    [
      'HMAC signed with the public key',
      async () => {
        // The classic confusion attack: HS256 keyed with the RSA public key's PEM (or JWK).
        const pem = await exportSPKI(rsa.publicKey);
        return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: SUBJECT, exp: now() + 600 })
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
          .sign(new TextEncoder().encode(pem));
      },
    ],
    [
      'a key the JWKS does not hold (unknown kid)',
      async () => sign({ ...(await signingKey('rsa-rogue', 'RS256')) }),
    ],
    ['a known kid but another key', async () => sign({ ...(await signingKey('rsa-1', 'RS256')) })],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await sign(rsa)).split('.');
        const payload = b64({
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'system:serviceaccount:ops:ops-api',
          exp: now() + 600,
        });
        return `${header}.${payload}.${signature}`;
      },
    ],
  ];

  it.each(refusals)('refuses %s: 401 problem, PostHog never called', async (_, make) => {
    const token = await make();
    const answer = await stack.client.get('/v1/integrations', bearer(token));
    expectProblem(answer, 401, 'unauthenticated');
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    expect(answer.text).not.toContain(token);
    expect(stack.fake.requests).toHaveLength(0);
    const line = stack.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'request' && l.request_id === answer.headers.get('x-request-id'));
    expect(line).toMatchObject({ status: 401 });
    expect(line.caller).toBeUndefined();
    expectNoTokenLogged(stack, token);
  });

  it('picks up a key added to the JWKS (rotation) without a restart', async () => {
    const rotated = await signingKey('rsa-2', 'RS256');
    const token = await sign(rotated);
    const before = jwks.fetches;
    jwks.keys = [rsa.jwk, rotated.jwk];
    // An unknown kid re-reads the JWKS, at most once a second: the first try may fall in that pause.
    const answer = await eventually(
      async () => {
        const a = await stack.client.get('/v1/integrations?limit=1', bearer(token));
        return a.status !== 401 && a;
      },
      { timeoutMs: 5000, intervalMs: 200, message: 'a token of the added key to be admitted' },
    );
    expect(answer.status).toBe(200);
    expect(jwks.fetches).toBeGreaterThan(before);
    // The old key still works while the JWKS lists it.
    expect(
      (await stack.client.get('/v1/integrations?limit=1', bearer(await sign(rsa)))).status,
    ).toBe(200);
  });
});

describe('service-account callers: JWKS from a file (BFF_JWT_JWKS_FILE)', () => {
  let dir: string;
  let stack: Stack;
  let key: SigningKey;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bff-jwks-'));
    file = join(dir, 'jwks.json');
    key = await signingKey('file-1', 'ES256');
    writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
    stack = await startStack({
      BFF_CLIENTS: callersWith(JWT_CALLERS),
      BFF_JWT_JWKS_FILE: file,
      BFF_JWT_ISSUER: ISSUER,
      BFF_JWT_AUDIENCE: AUDIENCE,
    });
  });

  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits a token signed by a key of the file and refuses a wrong audience', async () => {
    expect((await stack.client.get('/v1/integrations', bearer(await sign(key)))).status).toBe(200);
    stack.fake.reset();
    const wrong = await stack.client.get('/v1/integrations', bearer(await sign(key, { aud: 'x' })));
    expectProblem(wrong, 401, 'unauthenticated');
    expect(stack.fake.requests).toHaveLength(0);
  });

  it('reads the file again for a kid it does not know (key rotation)', async () => {
    const rotated = await signingKey('file-2', 'RS256');
    const token = await sign(rotated);
    writeFileSync(file, JSON.stringify({ keys: [key.jwk, rotated.jwk] }));
    const answer = await eventually(
      async () => {
        const a = await stack.client.get('/v1/integrations', bearer(token));
        return a.status !== 401 && a;
      },
      { timeoutMs: 5000, intervalMs: 200, message: 'a token of the added key to be admitted' },
    );
    expect(answer.status).toBe(200);
  });
});

describe('caller rotation through BFF_CLIENTS_FILE (no restart)', () => {
  const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
  const OLD = 'rotating-old-token-1f2e3d4c5b6a';
  const NEW = 'rotating-new-token-a6b5c4d3e2f1';
  let dir: string;
  let version = 0;
  let stack: Stack;

  /** Publishes `content` the way a Kubernetes Secret volume does: a new directory, then the
   * `..data` symlink swapped to it atomically (the file path itself is a symlink into ..data). */
  function publish(content: string): void {
    const next = `..v${++version}`;
    mkdirSync(join(dir, next));
    writeFileSync(join(dir, next, 'clients.json'), content);
    symlinkSync(next, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  }

  const callers = (hashes: string[]) =>
    callersWith([{ id: 'rotating', token_sha256: hashes, scopes: ['integration:read'] }]);
  const as = (token: string) => bearer(token);
  const errorLines = () =>
    stack.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.level === 'error' && /BFF_CLIENTS_FILE/.test(l.msg));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bff-clients-'));
    publish(callers([sha256(OLD), sha256(NEW)]));
    symlinkSync('..data/clients.json', join(dir, 'clients.json'));
    stack = await startStack({
      BFF_CLIENTS: undefined,
      BFF_CLIENTS_FILE: join(dir, 'clients.json'),
    });
  });

  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits the old and the new token, then drops the old one within 10 s of the file changing', async () => {
    expect((await stack.client.get('/v1/integrations', as(OLD))).status).toBe(200);
    expect((await stack.client.get('/v1/integrations', as(NEW))).status).toBe(200);

    publish(callers([sha256(NEW)]));
    const old = await eventually(
      async () => {
        const a = await stack.client.get('/v1/integrations', as(OLD));
        return a.status === 401 && a;
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'the old token to be refused' },
    );
    expectProblem(old, 401, 'unauthenticated');
    expect((await stack.client.get('/v1/integrations', as(NEW))).status).toBe(200);
    expect(stack.logs.some((l) => l.includes('BFF_CLIENTS_FILE re-read'))).toBe(true);
  });

  it.each([
    ['not JSON', '[{"id": "rotating",'],
    ['an unknown scope', callersWith([{ id: 'x', token_sha256: sha256(OLD), scopes: ['root'] }])],
    [
      'the same hash under two callers',
      callersWith([
        { id: 'rotating', token_sha256: sha256(NEW), scopes: ['integration:read'] },
        { id: 'copy', token_sha256: [sha256(NEW)], scopes: ['integration:write'] },
      ]),
    ],
  ])(
    'keeps the callers in force when the new file has %s, with one error line',
    async (_, content) => {
      const before = errorLines().length;
      publish(content);
      const registry = stack.app.get(CallerRegistry);
      await registry.reload();
      await registry.reload(); // the same bad content again: no second line
      const lines = errorLines().slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0].msg).toMatch(/previous callers stay in force/);
      expect(JSON.stringify(lines[0])).not.toContain(NEW);
      expect((await stack.client.get('/v1/integrations', as(NEW))).status).toBe(200);
      expect((await stack.client.get('/v1/integrations', as(OLD))).status).toBe(401);
    },
  );

  it('keeps the callers in force while the file is missing, and takes the next valid one', async () => {
    rmSync(join(dir, '..data'));
    await stack.app.get(CallerRegistry).reload();
    expect((await stack.client.get('/v1/integrations', as(NEW))).status).toBe(200);
    publish(callers([sha256(OLD)]));
    await stack.app.get(CallerRegistry).reload();
    expect((await stack.client.get('/v1/integrations', as(OLD))).status).toBe(200);
    expect((await stack.client.get('/v1/integrations', as(NEW))).status).toBe(401);
  });
});
