/**
 * Seed data of the fake PostHog, in the exact shapes of PostHog's Integrations API pages
 * (../../../shared/seeds). Every export that tests may mutate is handed out as a fresh copy.
 */

export interface PostHogUser {
  id: number;
  uuid: string;
  distinct_id: string;
  first_name: string;
  last_name: string;
  email: string;
  is_email_verified: boolean;
  hedgehog_config: Record<string, unknown> | null;
  role_at_organization: string | null;
}

/** IntegrationSerializer's fields (posthog/api/integration.py). */
export interface Integration {
  id: number;
  kind: string;
  config: Record<string, unknown>;
  created_at: string;
  created_by: PostHogUser | null;
  errors: string;
  display_name: string;
  /** Slack only: whether reconnecting can request files:write. */
  files_write_requestable: boolean;
  /** GitHub only (null otherwise): another project references the same App installation. */
  installation_shared: boolean | null;
  /** GitHub only (null otherwise). */
  installation_status: 'connected' | 'unavailable' | null;
}

export interface OrganizationIntegration {
  id: string;
  kind: string;
  integration_id: string | null;
  /** Never null (a JSONField with default=dict). `type: connectable` or a marketplace install. */
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  created_by: PostHogUser | null;
}

export interface RoleExternalReference {
  id: string;
  provider: string;
  provider_organization_id: string;
  provider_role_id: string;
  provider_role_slug: string | null;
  provider_role_name: string;
  role: string;
  created_at: string;
  created_by: PostHogUser | null;
}

/** GitHubTeamSerializer (posthog/api/integration.py): {id, slug, name}. */
export interface GitHubTeam {
  id: number;
  slug: string;
  name: string;
}

export interface SeedData {
  integrations: Integration[];
  organizationIntegrations: OrganizationIntegration[];
  roleExternalReferences: RoleExternalReference[];
  /**
   * The teams of the GitHub organization behind the seeded GitHub integration, in GitHub's
   * `/orgs/{org}/teams` order; tests may add more (e.g. to page past GitHub's pages of 100).
   */
  githubTeams: GitHubTeam[];
}

/** Fixed organization id the fake answers for unless told otherwise. */
export const DEFAULT_ORGANIZATION_ID = '0191f3a4-5b6c-7d8e-9f00-112233445566';

/** Personal API key of the standalone fake and of `npm run demo`; a placeholder, not a secret. */
export const DEMO_API_KEY = 'phx_demo_key_not_secret';

/** The key of `npm run demo`'s mobile tenant, limited to its project; a placeholder too. */
export const DEMO_MOBILE_API_KEY = 'phx_demo_mobile_key_not_secret';

/** The user owning the personal API key; PostHog stamps it as `created_by` on writes. */
export const API_KEY_OWNER: PostHogUser = {
  id: 1,
  uuid: '0191f3a4-0000-7000-8000-000000000001',
  distinct_id: 'vT2mQ9xLr4pYh8KcWb3nD1sFgJ6aZ0eUoI7yR5tC',
  first_name: 'Ada',
  last_name: 'Lovelace',
  email: 'ada@example.com',
  is_email_verified: true,
  hedgehog_config: {},
  role_at_organization: 'engineering',
};

const OTHER_USER: PostHogUser = {
  id: 2,
  uuid: '0191f3a4-0000-7000-8000-000000000002',
  distinct_id: 'Hk4sN8wPq2LmZ6vBx1cR9tYg3jD7fA5eU0oI4nKs',
  first_name: 'Grace',
  last_name: 'Hopper',
  email: 'grace@example.com',
  is_email_verified: true,
  hedgehog_config: null,
  role_at_organization: 'product',
};

/** Integration.IntegrationKind (posthog/models/integration/model.py): the kind filter's choices. */
export const INTEGRATION_KINDS: readonly string[] = [
  'anthropic',
  'apns',
  'aws-redshift',
  'aws-s3',
  'azure-blob',
  'bing-ads',
  'clickup',
  'customerio-app',
  'customerio-track',
  'customerio-webhook',
  'databricks',
  'ebay',
  'email',
  'firebase',
  'github',
  'gitlab',
  'google-ads',
  'google-analytics',
  'google-calendar',
  'google-cloud-service-account',
  'google-cloud-storage',
  'google-pubsub',
  'google-search-console',
  'google-sheets',
  'hubspot',
  'instagram',
  'intercom',
  'jira',
  'linear',
  'linkedin-ads',
  'meta-ads',
  'pardot',
  'pinterest-ads',
  'postgresql',
  'posthog',
  'reddit-ads',
  'resend',
  's3-compatible',
  'salesforce',
  'slack',
  'slack-posthog-code',
  'snapchat',
  'snowflake',
  'stripe',
  'tiktok-ads',
  'twilio',
  'vercel',
  'youtube-analytics',
];

/**
 * Kinds `authorize` redirects for: OAuth kinds (a subset of OauthIntegration.supported_kinds,
 * posthog/models/integration/oauth.py) and `github` (the App install page). Others: 400.
 */
export const OAUTH_KINDS: readonly string[] = [
  'bing-ads',
  'clickup',
  'google-ads',
  'google-analytics',
  'google-search-console',
  'google-sheets',
  'hubspot',
  'intercom',
  'jira',
  'linear',
  'linkedin-ads',
  'meta-ads',
  'pinterest-ads',
  'posthog',
  'reddit-ads',
  'salesforce',
  'slack',
  'snapchat',
  'stripe',
  'tiktok-ads',
];

/** Kinds IntegrationSerializer._build_integration has no branch for: 400 "Kind not supported". */
export const KINDS_NOT_CREATABLE: readonly string[] = ['vercel', 'ebay', 'resend'];

/** Teams (projects) of the organization besides those a fake serves; environment-mapping refuses any other id. */
export const ORGANIZATION_TEAM_IDS: readonly number[] = [1, 2, 3, 9];

/** Roles of the organization; a role reference must point at one of them. */
export const ORGANIZATION_ROLE_IDS: readonly string[] = [
  '543e2fa5-dae3-497f-aa96-e06da8fcb379',
  '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  '3f1e2d3c-4b5a-4697-8877-665544332211',
];

/** Organization integrations whose Vercel account has unpaid invoices: delete answers 409. */
export const OPEN_INVOICE_INTEGRATIONS: readonly string[] = [
  '6f1c2d3e-4a5b-4c6d-8e7f-901234567890',
];

const INTEGRATIONS: Integration[] = [
  {
    id: 1,
    kind: 'slack',
    config: {
      app_id: 'A05EXAMPLE1',
      scope: 'channels:read,chat:write,groups:read',
      team: { id: 'T01EXAMPLE', name: 'Acme Inc' },
      authed_user: { id: 'U01EXAMPLE' },
      bot_user_id: 'U02EXAMPLEBOT',
      is_enterprise_install: false,
    },
    created_at: '2025-01-14T09:12:44.512345Z',
    created_by: API_KEY_OWNER,
    errors: '',
    display_name: 'Acme Inc',
    files_write_requestable: true,
    installation_shared: null,
    installation_status: null,
  },
  {
    id: 2,
    kind: 'github',
    config: {
      installation_id: '51234567',
      account: { type: 'Organization', name: 'acme-inc' },
      repository_selection: 'selected',
      expires_in: 28800,
      refreshed_at: 1736847164,
    },
    created_at: '2025-02-03T16:40:02.001122Z',
    created_by: API_KEY_OWNER,
    errors: '',
    display_name: 'acme-inc',
    files_write_requestable: false,
    installation_shared: false,
    installation_status: 'connected',
  },
  {
    id: 3,
    kind: 'linear',
    config: { expires_in: 315705599, refreshed_at: 1738600000, scope: 'read,write' },
    created_at: '2025-02-20T11:05:37.777000Z',
    created_by: OTHER_USER,
    errors: '',
    display_name: 'Acme Engineering',
    files_write_requestable: false,
    installation_shared: null,
    installation_status: null,
  },
  {
    id: 4,
    kind: 'linkedin-ads',
    config: { expires_in: 5183999, refresh_token_expires_in: 31535999, refreshed_at: 1740000000 },
    created_at: '2025-03-08T08:30:00.000000Z',
    created_by: OTHER_USER,
    errors: '',
    display_name: 'ada@example.com',
    files_write_requestable: false,
    installation_shared: null,
    installation_status: null,
  },
  {
    id: 5,
    kind: 'twilio',
    config: { account_sid: 'AC00000000000000000000000000000001' },
    created_at: '2025-03-21T13:14:15.161718Z',
    created_by: API_KEY_OWNER,
    errors: '',
    display_name: 'AC00000000000000000000000000000001',
    files_write_requestable: false,
    installation_shared: null,
    installation_status: null,
  },
  {
    id: 6,
    kind: 'anthropic',
    config: { workspace_name: 'Acme AI' },
    created_at: '2025-04-02T10:00:00.000000Z',
    created_by: API_KEY_OWNER,
    errors: '',
    display_name: 'Acme AI',
    files_write_requestable: false,
    installation_shared: null,
    installation_status: null,
  },
];

const ORGANIZATION_INTEGRATIONS: OrganizationIntegration[] = [
  {
    id: '497f6eca-6276-4993-bfeb-53cbbbba6f08',
    kind: 'vercel',
    integration_id: 'icfg_8bY2kQ4nR7tW1xZ3',
    config: {
      type: 'connectable',
      account: { type: 'team', name: 'acme', id: 'team_acme123' },
      environment_mapping: { production: 1, preview: 1, development: 1 },
    },
    created_at: '2025-01-20T12:00:00.000000Z',
    updated_at: '2025-01-20T12:00:00.000000Z',
    created_by: API_KEY_OWNER,
  },
  {
    id: '6f1c2d3e-4a5b-4c6d-8e7f-901234567890',
    kind: 'vercel',
    integration_id: 'icfg_3cD9mL5pS2vX8yA1',
    config: { account: { type: 'team', name: 'acme-labs', id: 'team_labs456' } },
    created_at: '2025-03-02T07:45:10.000000Z',
    updated_at: '2025-03-05T18:22:31.000000Z',
    created_by: OTHER_USER,
  },
];

const ROLE_EXTERNAL_REFERENCES: RoleExternalReference[] = [
  {
    id: '8d2e4c6a-1b3f-4e5d-9a7c-0f1e2d3c4b5a',
    provider: 'github',
    provider_organization_id: 'acme-inc',
    provider_role_id: '4411001',
    provider_role_slug: 'platform-team',
    provider_role_name: 'Platform team',
    role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
    created_at: '2025-02-11T10:20:30.000000Z',
    created_by: API_KEY_OWNER,
  },
  {
    id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    provider: 'github',
    provider_organization_id: 'acme-inc',
    provider_role_id: '4411002',
    provider_role_slug: null,
    provider_role_name: 'Data team',
    role: '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    created_at: '2025-02-12T10:20:30.000000Z',
    created_by: OTHER_USER,
  },
];

/** The seeded GitHub organization's teams (SeedData.githubTeams starts as a copy). */
export const GITHUB_TEAMS: readonly GitHubTeam[] = [
  { id: 4100001, slug: 'platform', name: 'Platform' },
  { id: 4100002, slug: 'billing-squad', name: 'Billing Squad' },
  { id: 4100003, slug: 'web', name: 'Web' },
  { id: 4100004, slug: 'mobile', name: 'Mobile' },
];

/** Data behind the per-integration helper routes, keyed by route name. Read-only. */
export const HELPER_DATA = {
  anthropicAgents: [
    { id: 'agent_01AbC', name: 'Support triage', version: 3 },
    { id: 'agent_02DeF', name: 'Release notes', version: 1 },
    { id: 'agent_03GhI', name: 'SQL helper', version: 2 },
  ],
  anthropicVaults: [
    { id: 'vault_01JkL', display_name: 'Production secrets' },
    { id: 'vault_02MnO', display_name: 'Staging secrets' },
  ],
  anthropicEnvironments: [
    { id: 'env_01PqR', name: 'default' },
    { id: 'env_02StU', name: 'sandbox' },
  ],
  linearTeams: [
    { id: '5f1d0c2e-7a3b-4c9d-8e6f-0a1b2c3d4e5f', name: 'Engineering' },
    { id: '9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b', name: 'Design' },
  ],
  linkedinAdsAccounts: [
    { id: 508001234, name: 'Acme Brand', reference: 'urn:li:organization:1000001' },
    { id: 508005678, name: 'Acme Recruiting', reference: 'urn:li:organization:1000002' },
  ],
  /** Conversion rules by ad account id (PostHog answers {id, name} for the account asked). */
  linkedinAdsConversionRules: {
    '508001234': [
      { id: 17000001, name: 'Signup' },
      { id: 17000002, name: 'Purchase' },
    ],
    '508005678': [{ id: 17000003, name: 'Application' }],
  } as Record<string, { id: number; name: string }[]>,
  /**
   * posthog/domain_connect.py `DOMAIN_CONNECT_PROVIDERS` @ 021d8118c1d303dbdd50aca885ee427c4947783b
   * as `get_available_providers()` answers it: scheme-less endpoints. The display names are the
   * `DomainConnectProviderName` members CLOUDFLARE and VERCEL; their strings were not read.
   */
  domainConnectProviders: [
    { endpoint: 'api.cloudflare.com/client/v4/dns/domainconnect', name: 'Cloudflare' },
    { endpoint: 'domainconnect.vercel.com', name: 'Vercel' },
  ],
  /**
   * The root domains whose DNS the fake's `discover_domain_connect` finds at a provider (a
   * `_domainconnect` TXT record pointing at an allow-listed endpoint), by provider name. Every
   * other root domain is unsupported.
   */
  domainConnectRoots: { 'example.com': 'Cloudflare', 'acme.dev': 'Vercel' } as Record<
    string,
    string
  >,
  twilioPhoneNumbers: [
    {
      sid: 'PN00000000000000000000000000000001',
      phone_number: '+14155550100',
      friendly_name: 'Support line',
    },
    {
      sid: 'PN00000000000000000000000000000002',
      phone_number: '+14155550101',
      friendly_name: 'Alerts',
    },
  ],
  twilioLastRefreshedAt: '2025-04-01T00:00:00Z',
  /** The seeded Twilio account that has numbers; any other account's list crashes the view. */
  twilioAccountSid: 'AC00000000000000000000000000000001',
} as const;

/** The rows that belong to one project (team); the others belong to its organization. */
export type ProjectRows = Pick<SeedData, 'integrations' | 'githubTeams'>;

/**
 * Integration ids come from one sequence per PostHog deployment, so no two projects of a host
 * share one: the n-th project a fake serves (0 for the first) is seeded with the same rows, their
 * ids n * SEED_ID_STRIDE higher.
 */
export const SEED_ID_STRIDE = 1000;

/** A fresh deep copy of one project's seeded rows (see SEED_ID_STRIDE). */
export function projectSeed(position: number): ProjectRows {
  const rows = structuredClone({ integrations: INTEGRATIONS, githubTeams: [...GITHUB_TEAMS] });
  for (const row of rows.integrations) row.id += position * SEED_ID_STRIDE;
  return rows;
}

/** A fresh deep copy of the first project's rows and its organization's: tests may mutate it freely. */
export function seedData(): SeedData {
  return {
    ...projectSeed(0),
    ...structuredClone({
      organizationIntegrations: ORGANIZATION_INTEGRATIONS,
      roleExternalReferences: ROLE_EXTERNAL_REFERENCES,
    }),
  };
}
