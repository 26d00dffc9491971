/** PostHog's own scope names, as API.md lists them. */
export const SCOPES = [
  'integration:read',
  'integration:write',
  'organization_integration:read',
  'organization_integration:write',
  'organization:read',
  'organization:write',
  // The BFF's own: reading its audit trail (GET /v1/audit).
  'audit:read',
] as const;

export type Scope = (typeof SCOPES)[number];
