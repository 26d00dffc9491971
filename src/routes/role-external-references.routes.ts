import type { ProxyRoute } from './route';

const refs = '/api/organizations/{organization}/role_external_references';

/** Links between PostHog roles and roles of an external identity provider; ids are UUIDs. */
export const ROLE_REFERENCE_ROUTES = {
  list: {
    method: 'GET',
    path: '/v1/role-external-references',
    upstream: `${refs}/`,
    scope: 'organization:read',
    summary: 'List role external references',
    cache: 'role-external-references',
    answer: 'list',
  },
  create: {
    method: 'POST',
    path: '/v1/role-external-references',
    upstream: `${refs}/`,
    scope: 'organization:write',
    summary: 'Create a role external reference',
    invalidates: 'role-external-references',
  },
  remove: {
    method: 'DELETE',
    path: '/v1/role-external-references/:id',
    upstream: `${refs}/:id/`,
    scope: 'organization:write',
    summary: 'Delete a role external reference',
    invalidates: 'role-external-references',
  },
  lookup: {
    method: 'GET',
    path: '/v1/role-external-references/lookup',
    upstream: `${refs}/lookup/`,
    scope: 'organization:read',
    summary:
      'Find the reference of an external role; answers {reference: object|null} (PostHog refuses personal API keys)',
    cache: 'role-external-references',
    refusesPersonalKeys: true,
  },
} satisfies Record<string, ProxyRoute>;
