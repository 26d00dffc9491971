// One valid request per /v1 route, and a stack whose simulated PostHog takes every one of them:
// shared by the suites that run every route (secrecy, schema conformance).
import { OPEN_REFUSED_ACTIONS } from '../fake-posthog/fake-posthog';
import { jiraIntegration } from '../fake-posthog/integration-surface';
import type { Integration } from '../fake-posthog/seed';
import { DATA_TEAM_REFERENCE, OTHER_ORG_INTEGRATION, VERCEL } from './audit';
import { NEW_ROLE_REFERENCE } from './routes';
import { type Stack, startStack } from './stack';

/**
 * A stack whose fake takes every sample: the fake's test-only switch that opens the refused actions, no Vercel invoices left unpaid, a Jira
 * integration (7) and a second GitHub one (8) that the DELETE sample leaves alone.
 */
export async function startSampleStack(env: Record<string, string> = {}): Promise<Stack> {
  const stack = await startStack(env, { key: OPEN_REFUSED_ACTIONS });
  stack.fake.openInvoices.clear();
  const github = stack.fake.data.integrations.find((i) => i.kind === 'github') as Integration;
  stack.fake.data.integrations.push(jiraIntegration(7), { ...structuredClone(github), id: 8 });
  return stack;
}

export interface Sample {
  path: string;
  body?: unknown;
  status: number;
}

/**
 * One valid request per route and the status it succeeds with against the seeded fake, used with
 * the fake's test-only switch (PostHog refuses every personal key on 8 of these actions).
 */
export const SAMPLES: Record<string, Sample> = {
  'GET /v1/integrations': { path: '/v1/integrations?limit=2', status: 200 },
  'POST /v1/integrations': {
    path: '/v1/integrations',
    body: { kind: 'slack', config: { team: 'T1' } },
    status: 201,
  },
  'GET /v1/integrations/:id': { path: '/v1/integrations/1', status: 200 },
  'DELETE /v1/integrations/:id': { path: '/v1/integrations/2', status: 204 },
  'GET /v1/integrations/:id/anthropic/agents': {
    path: '/v1/integrations/6/anthropic/agents?limit=1',
    status: 200,
  },
  'GET /v1/integrations/:id/anthropic/vaults': {
    path: '/v1/integrations/6/anthropic/vaults',
    status: 200,
  },
  'GET /v1/integrations/:id/anthropic/environments': {
    path: '/v1/integrations/6/anthropic/environments',
    status: 200,
  },
  'GET /v1/integrations/:id/linear/teams': { path: '/v1/integrations/3/linear/teams', status: 200 },
  'GET /v1/integrations/:id/linkedin-ads/accounts': {
    path: '/v1/integrations/4/linkedin-ads/accounts',
    status: 200,
  },
  'GET /v1/integrations/:id/linkedin-ads/conversion-rules': {
    path: '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=508001234',
    status: 200,
  },
  'GET /v1/integrations/:id/twilio/phone-numbers': {
    path: '/v1/integrations/5/twilio/phone-numbers',
    status: 200,
  },
  'GET /v1/integrations/authorize': {
    path: '/v1/integrations/authorize?kind=slack&next=/project/1',
    status: 200,
  },
  'POST /v1/integrations/domain-connect/apply-url': {
    path: '/v1/integrations/domain-connect/apply-url',
    body: { context: 'email', integration_id: 1 },
    status: 200,
  },
  'GET /v1/integrations/domain-connect/check': {
    path: '/v1/integrations/domain-connect/check?domain=example.com',
    status: 200,
  },
  'POST /v1/integrations/github/link-existing': {
    path: '/v1/integrations/github/link-existing',
    body: { installation_id: '1' },
    status: 200,
  },
  'POST /v1/integrations/github/oauth-authorize': {
    path: '/v1/integrations/github/oauth-authorize',
    body: { installation_id: '51234567', next: '/project/1' },
    status: 200,
  },
  'GET /v1/integrations/:id/slack/channels': {
    path: '/v1/integrations/1/slack/channels?search=alerts&limit=5',
    status: 200,
  },
  'GET /v1/integrations/:id/slack/users': {
    path: '/v1/integrations/1/slack/users?user_id=U0100000001',
    status: 200,
  },
  'GET /v1/integrations/:id/github/repos': {
    path: '/v1/integrations/8/github/repos?limit=2',
    status: 200,
  },
  'POST /v1/integrations/:id/github/repos/refresh': {
    path: '/v1/integrations/8/github/repos/refresh',
    body: {},
    status: 200,
  },
  'GET /v1/integrations/:id/github/branches': {
    path: '/v1/integrations/8/github/branches?repo=acme-inc/posthog-bff',
    status: 200,
  },
  'GET /v1/integrations/:id/github/teams': { path: '/v1/integrations/8/github/teams', status: 200 },
  'GET /v1/integrations/github/installations': {
    path: '/v1/integrations/github/installations',
    status: 200,
  },
  'POST /v1/integrations/github/prepare-callback': {
    path: '/v1/integrations/github/prepare-callback',
    body: { installation_id: '51234567' },
    status: 204,
  },
  'GET /v1/integrations/:id/jira/projects': {
    path: '/v1/integrations/7/jira/projects',
    status: 200,
  },
  'GET /v1/organization/integrations': { path: '/v1/organization/integrations', status: 200 },
  'GET /v1/organization/integrations/:id': {
    path: `/v1/organization/integrations/${VERCEL}`,
    status: 200,
  },
  'DELETE /v1/organization/integrations/:id': {
    path: `/v1/organization/integrations/${OTHER_ORG_INTEGRATION}`,
    status: 204,
  },
  'PATCH /v1/organization/integrations/:id/environment-mapping': {
    path: `/v1/organization/integrations/${VERCEL}/environment-mapping`,
    body: { production: 2, preview: 3 },
    status: 200,
  },
  'GET /v1/role-external-references': {
    path: '/v1/role-external-references?provider=github',
    status: 200,
  },
  'POST /v1/role-external-references': {
    path: '/v1/role-external-references',
    body: NEW_ROLE_REFERENCE,
    status: 201,
  },
  'DELETE /v1/role-external-references/:id': {
    path: `/v1/role-external-references/${DATA_TEAM_REFERENCE}`,
    status: 204,
  },
  'GET /v1/role-external-references/lookup': {
    path: '/v1/role-external-references/lookup?provider=github&provider_organization_id=acme-inc&provider_role_id=4411001',
    status: 200,
  },
};
