/** PostHog's own scope names, as the README lists them. */
export const POSTHOG_SCOPES = [
  'integration:read',
  'integration:write',
  'organization_integration:read',
  'organization_integration:write',
  'organization:read',
  'organization:write',
] as const;

/** Every scope a caller may hold: PostHog's, and the BFF's own for reading its audit trail. */
export const SCOPES = [...POSTHOG_SCOPES, 'audit:read'] as const;

export type Scope = (typeof SCOPES)[number];
