import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { SCOPES } from '../../src/routes/scopes';
import { FakePostHog, type FakePostHogOptions } from '../fake-posthog/fake-posthog';

export const POSTHOG_KEY = 'phx_e2e_test_key_5f0c2b7d9a1e4c3b';

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** Callers every stack knows: tokens are what a caller sends, only their hashes are configured. */
export const CALLERS = {
  admin: {
    token: 'caller-admin-token-7a1f09c3e5b2',
    scopes: SCOPES,
  },
  reader: {
    token: 'caller-reader-token-33d0e8b41c6f',
    scopes: ['integration:read', 'organization_integration:read', 'organization:read'],
  },
  limited: { token: 'caller-limited-token-9e2c4f7a0b18', scopes: ['integration:read'], rate: 3 },
} as const;

export function clientsJson(): string {
  return JSON.stringify(
    Object.entries(CALLERS).map(([id, c]) => ({
      id,
      token_sha256: sha256(c.token),
      scopes: c.scopes,
      ...('rate' in c ? { rate_limit_per_minute: c.rate } : {}),
    })),
  );
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

export interface CallOptions {
  as?: keyof typeof CALLERS | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export class BffClient {
  constructor(readonly url: string) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const as = options.as === undefined ? 'admin' : options.as;
    if (as) headers.authorization = `Bearer ${CALLERS[as].token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(this.url + path, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  get(path: string, options?: CallOptions) {
    return this.call('GET', path, options);
  }
}

export interface AppInstance {
  app: NestFastifyApplication;
  url: string;
  client: BffClient;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the BFF in this process on a loopback port, configured like `node dist/main.js`. */
export async function startBff(env: Record<string, string | undefined>): Promise<AppInstance> {
  const config = loadConfig({
    POSTHOG_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: '1',
    BFF_CLIENTS: clientsJson(),
    LOG_LEVEL: 'info',
    ...env,
  });
  const logs: string[] = [];
  const app = await createApp(config, { write: (line: string) => void logs.push(line) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return { app, url, client: new BffClient(url), logs, close: () => app.close() };
}

export interface Stack extends AppInstance {
  fake: FakePostHog;
}

/** A simulated PostHog and one BFF wired to it, both on loopback ports. */
export async function startStack(
  env: Record<string, string | undefined> = {},
  fakeOptions: Partial<FakePostHogOptions> = {},
): Promise<Stack> {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY, ...fakeOptions });
  await fake.start();
  const bff = await startBff({
    POSTHOG_HOST: fake.url,
    POSTHOG_ORGANIZATION_ID: fake.organizationId,
    ...env,
  });
  return {
    ...bff,
    fake,
    close: async () => {
      await bff.close();
      await fake.stop();
    },
  };
}
