/** PostHog's own scope names, as API.md lists them. */
export const SCOPES = [
  'integration:read',
  'integration:write',
  'organization_integration:read',
  'organization_integration:write',
  'organization:read',
  'organization:write',
] as const;

export type Scope = (typeof SCOPES)[number];
