// One request per write route with the audit record it must leave, shared by the log suite
// (audit.e2e-spec.ts) and the Redis suite (audit.redis.e2e-spec.ts).
import type { ProxyRoute } from '../../src/routes/route';
import { declaredRoutes, label, NEW_ROLE_REFERENCE } from './routes';
import { type Answer, CALLERS, POSTHOG_KEY } from './stack';

export const VERCEL = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
export const OTHER_ORG_INTEGRATION = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';
export const DATA_TEAM_REFERENCE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

/** A value in a request body that must never reach an audit record. */
export const CONFIG_SECRET = 'xoxb-config-secret-4c1d9e';

export interface WriteSample {
  path: string;
  body?: unknown;
  /** Our status (PostHog's too, except 204 where both say 204). */
  status: number;
  target: Record<string, string>;
  /** True when PostHog answers 201 with the new object's id. */
  creates?: boolean;
}

/** Every write route of the route tables (src/routes/*.routes.ts). */
export const writeRoutes = (): ProxyRoute[] =>
  declaredRoutes().filter((route) => route.method !== 'GET');

export const WRITE_SAMPLES: Record<string, WriteSample> = {
  'POST /v1/integrations': {
    path: '/v1/integrations',
    body: { kind: 'slack', config: { team: 'T1', bot_token: CONFIG_SECRET } },
    status: 201,
    target: { kind: 'slack' },
    creates: true,
  },
  'DELETE /v1/integrations/:id': {
    path: '/v1/integrations/2',
    status: 204,
    target: { integration_id: '2' },
  },
  'POST /v1/integrations/domain-connect/apply-url': {
    path: '/v1/integrations/domain-connect/apply-url',
    body: { context: 'email', integration_id: 1 },
    status: 200,
    target: { integration_id: '1' },
  },
  'POST /v1/integrations/github/link-existing': {
    path: '/v1/integrations/github/link-existing',
    body: { installation_id: '1' },
    status: 200,
    target: {},
    creates: true,
  },
  'POST /v1/integrations/github/oauth-authorize': {
    path: '/v1/integrations/github/oauth-authorize',
    body: { installation_id: '1', next: '/project/1' },
    status: 200,
    target: {},
  },
  'POST /v1/integrations/:id/github/repos/refresh': {
    path: '/v1/integrations/2/github/repos/refresh',
    body: {},
    status: 200,
    target: { integration_id: '2' },
  },
  'POST /v1/integrations/github/prepare-callback': {
    path: '/v1/integrations/github/prepare-callback',
    body: { installation_id: '51234567', next: '/project/1' },
    status: 204,
    target: {},
  },
  'DELETE /v1/organization/integrations/:id': {
    path: `/v1/organization/integrations/${OTHER_ORG_INTEGRATION}`,
    status: 204,
    target: { organization_integration_id: OTHER_ORG_INTEGRATION },
  },
  'PATCH /v1/organization/integrations/:id/environment-mapping': {
    path: `/v1/organization/integrations/${VERCEL}/environment-mapping`,
    body: { production: 2 },
    status: 200,
    target: { organization_integration_id: VERCEL },
  },
  'POST /v1/role-external-references': {
    path: '/v1/role-external-references',
    body: NEW_ROLE_REFERENCE,
    status: 201,
    target: {},
    creates: true,
  },
  'DELETE /v1/role-external-references/:id': {
    path: `/v1/role-external-references/${DATA_TEAM_REFERENCE}`,
    status: 204,
    target: { role_reference_id: DATA_TEAM_REFERENCE },
  },
};

export { label };

/** The fields every audit record of `sample` (sent by CALLERS.admin) must have. */
export function expectedRecord(route: ProxyRoute, sample: WriteSample, answer: Answer): object {
  const expected: Record<string, unknown> = {
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    request_id: answer.headers.get('x-request-id'),
    caller: 'admin',
    method: route.method,
    route: route.path,
    target: sample.target,
    upstream_status: sample.status,
  };
  if (sample.creates) expected.created_id = String(answer.json.id);
  return expected;
}

/** No credential, token or request `config` value anywhere in a record. */
export function expectNoSecrets(record: unknown): void {
  const text = JSON.stringify(record);
  for (const secret of [
    POSTHOG_KEY,
    CONFIG_SECRET,
    ...Object.values(CALLERS).map((c) => c.token),
  ]) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toMatch(/"config"|"body"|authorization/i);
}
