/**
 * What the key needs on the 8 actions PostHog refuses for every personal API key, scoped or `*`
 * (posthog/permissions.py APIScopePermission: actions outside a viewset's scope lists). Said in
 * the route's docs and in the 502 when PostHog refuses.
 */
export const REFUSES_PERSONAL_KEYS =
  'a legacy scope-less key: PostHog refuses every personal API key on this action today, scoped or `*`';
