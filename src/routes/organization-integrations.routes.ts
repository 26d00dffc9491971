import type { ProxyRoute } from './route';

const org = '/api/organizations/{organization}/integrations';

/** Organization-level integrations (e.g. Vercel); ids are UUIDs. */
export const ORGANIZATION_INTEGRATION_ROUTES = {
  list: {
    method: 'GET',
    path: '/v1/organization/integrations',
    upstream: `${org}/`,
    scope: 'organization_integration:read',
    summary: 'List organization integrations',
    cache: 'organization-integrations',
    answer: 'list',
  },
  get: {
    method: 'GET',
    path: '/v1/organization/integrations/:id',
    upstream: `${org}/:id/`,
    scope: 'organization_integration:read',
    summary: 'Get one organization integration',
    cache: 'organization-integrations',
  },
  remove: {
    method: 'DELETE',
    path: '/v1/organization/integrations/:id',
    upstream: `${org}/:id/`,
    scope: 'organization_integration:write',
    summary: 'Disconnect an organization integration',
    invalidates: 'organization-integrations',
  },
  environmentMapping: {
    method: 'PATCH',
    path: '/v1/organization/integrations/:id/environment-mapping',
    upstream: `${org}/:id/environment-mapping/`,
    scope: 'organization_integration:write',
    summary: 'Map Vercel environments to PostHog teams (PostHog refuses personal API keys)',
    invalidates: 'organization-integrations',
    refusesPersonalKeys: true,
  },
} satisfies Record<string, ProxyRoute>;
