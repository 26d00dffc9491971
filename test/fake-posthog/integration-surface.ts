/**
 * The simulated PostHog's Slack, GitHub and Jira helper actions (API.md rows "slack/channels" to
 * "jira/projects"), with seeded data. Each handler follows PostHog's `IntegrationViewSet` in
 * posthog/api/integration.py (PostHog/posthog@483dc963): the order of its checks, its query
 * serializers (defaults, caps, DRF error codes), its answer shapes and its wrong-kind answers.
 * Registered as a FakeExtension (extensions.ts).
 */
import {
  type FakeContext,
  type FakeExtension,
  type FakeRoute,
  type FakeStore,
  fakeRoute,
  invalid as invalidField,
  notFound,
  ok,
  param,
  type Query,
  type Reply,
  serverError,
} from './protocol';
import type { Integration } from './seed';

// ---------------------------------------------------------------------------------------------
// Seed data (read-only; answers are copies)

export const SLACK_CHANNELS = [
  // Slack's conversations.list entries as PostHog serializes them (_serialize_slack_channel).
  channel('C0100000001', 'alerts', { is_member: true }),
  channel('C0100000002', 'alerts-staging', { is_member: false }),
  channel('C0100000003', 'deploys', { is_member: true }),
  channel('C0100000004', 'general', { is_member: true }),
  channel('C0100000005', 'incidents', { is_member: true, is_ext_shared: true }),
  channel('G0100000006', 'leadership', { is_private: true, is_member: true }),
  // users_conversations masks private channels the key owner cannot see (slack.py
  // _list_channels_by_type); the channels action drops them from lists and searches.
  channel('G0100000007', 'PRIVATE_CHANNEL_WITHOUT_ACCESS', {
    is_private: true,
    is_private_without_access: true,
  }),
  channel('C0100000008', 'product-analytics', { is_member: false }),
  channel('C0100000009', 'random', { is_member: true }),
  channel('C0100000010', 'support', { is_member: true }),
];

/** Human, DM-able members (slack.py list_users drops bots, guests, deleted users, Slackbot). */
export const SLACK_USERS = [
  { id: 'U0100000001', name: 'ada', real_name: 'Ada Lovelace', display_name: 'Ada' },
  { id: 'U0100000002', name: 'grace', real_name: 'Grace Hopper', display_name: 'Grace' },
  { id: 'U0100000003', name: 'alan', real_name: 'Alan Turing', display_name: 'alan.t' },
  { id: 'U0100000004', name: 'katherine', real_name: 'Katherine Johnson', display_name: 'KJ' },
  { id: 'W0100000005', name: 'edsger', real_name: 'Edsger Dijkstra', display_name: 'EWD' },
];

/** Stamped by PostHog on its 1-hour Slack cache ("lastRefreshedAt"). */
export const SLACK_LAST_REFRESHED_AT = '2025-05-01T08:00:00+00:00';

/** GitHubRepoSerializer fields; PostHog's repository cache keeps GitHub's order. */
export const GITHUB_REPOSITORIES = [
  repo(710000001, 'posthog-bff', 'TypeScript', false, '2025-04-30T10:00:00Z'),
  repo(710000002, 'billing', 'Python', false, '2025-04-29T09:00:00Z'),
  repo(710000003, 'web-app', 'TypeScript', false, '2025-04-28T08:00:00Z'),
  repo(710000004, 'infra', 'HCL', true, '2025-01-02T08:00:00Z'),
  repo(710000005, 'docs', 'MDX', false, '2025-04-20T12:00:00Z'),
  repo(710000006, 'mobile-app', 'Kotlin', false, '2025-03-15T16:30:00Z'),
];

/** Branches per repository, default branch first (GitHubIntegration.sync_branch_cache). */
export const GITHUB_BRANCHES: Record<string, { default: string; branches: string[] }> = {
  'acme-inc/posthog-bff': {
    default: 'main',
    branches: ['main', 'feature/slack-channels', 'feature/typed-client', 'fix/retry-after'],
  },
  'acme-inc/billing': { default: 'trunk', branches: ['trunk', 'release/2025-04'] },
};

/** GitHubTeamSerializer: {id, slug, name}. */
export const GITHUB_TEAMS = [
  { id: 4100001, slug: 'platform', name: 'Platform' },
  { id: 4100002, slug: 'billing-squad', name: 'Billing Squad' },
  { id: 4100003, slug: 'web', name: 'Web' },
  { id: 4100004, slug: 'mobile', name: 'Mobile' },
];

/** Installations of the organization's other projects that this project can link. */
export const GITHUB_INSTALLATIONS = [
  { installation_id: '51234567', account_name: 'acme-inc', account_type: 'Organization' },
  { installation_id: '58765432', account_name: 'acme-labs', account_type: 'Organization' },
].map((installation, index) => ({ ...installation, source_team_id: index + 2 }));

/** JiraProjectSerializer: {id, key, name}. */
export const JIRA_PROJECTS = [
  { id: '10000', key: 'OPS', name: 'Operations' },
  { id: '10001', key: 'BILL', name: 'Billing' },
  { id: '10002', key: 'WEB', name: 'Web platform' },
];

/** A Jira integration row tests add to the fake's data (the seed has none). */
export function jiraIntegration(id: number): Integration {
  return {
    id,
    kind: 'jira',
    config: {
      cloud_id: 'a1b2c3d4-0000-4000-8000-00000000ji1a',
      site_url: 'https://acme.atlassian.net',
    },
    created_at: '2025-05-02T09:00:00.000000Z',
    created_by: null,
    errors: '',
    display_name: 'acme.atlassian.net',
    files_write_requestable: false,
    installation_shared: null,
    installation_status: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Routes

export const integrationSurface: FakeExtension = (store) => {
  const detail = (
    method: FakeRoute['method'],
    path: string,
    action: string,
    handler: (ctx: FakeContext, store: FakeStore) => Reply,
    github = false,
  ) =>
    fakeRoute(method, 'project', `/integrations/:int/${path}`, {
      scopeObject: 'integration',
      action,
      github,
      handler: (ctx) => handler(ctx, store),
    });
  return [
    detail('GET', 'channels', 'channels', slackChannels),
    detail('GET', 'users', 'users', slackUsers),
    detail('GET', 'github_repos', 'github_repos', githubRepos, true),
    detail('POST', 'github_repos/refresh', 'refresh_github_repos', refreshRepos, true),
    detail('GET', 'github_branches', 'github_branches', githubBranches, true),
    detail('GET', 'github_teams', 'github_teams', githubTeams, true),
    detail('GET', 'jira_projects', 'jira_projects', jiraProjects),
    fakeRoute('GET', 'project', '/integrations/github/available_installations', {
      scopeObject: 'integration',
      action: 'github_available_installations',
      handler: () => ok({ installations: structuredClone(GITHUB_INSTALLATIONS) }),
    }),
    fakeRoute('POST', 'project', '/integrations/github/prepare_callback', {
      scopeObject: 'integration',
      action: 'github_prepare_callback',
      handler: prepareCallback,
    }),
  ];
};

// `channels`: get_object → kind → authed_user → channel_id lookup (no query validation) →
// SlackChannelsQuerySerializer (search "", limit 50 in 1..200, offset 0 ≥ 0) → filter → page.
function slackChannels({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'slack') {
    return invalid('channels endpoint is only supported for Slack integrations');
  }
  const authedUser = (integration.config?.authed_user as { id?: string } | undefined)?.id;
  if (!authedUser) return invalid('SlackIntegration: Missing authed_user_id in integration config');
  const channelId = param(query, 'channel_id');
  if (channelId) {
    const found = SLACK_CHANNELS.find((c) => c.id === channelId);
    return ok({ channels: found ? [{ ...found }] : [] });
  }
  const page = pageQuery(query, 50, 200);
  if ('status' in page) return page;
  // PostHog fuzzy-ranks names (posthog/helpers/fuzzy_search.py) then adds id substring matches;
  // the fake ranks by case-insensitive substring, which agrees on every seeded name.
  const visible = SLACK_CHANNELS.filter((c) => !c.is_private_without_access);
  const needle = page.search.trim().toLowerCase();
  const matching = needle
    ? [
        ...visible.filter((c) => c.name.toLowerCase().includes(needle)),
        ...visible.filter(
          (c) => !c.name.toLowerCase().includes(needle) && c.id.toLowerCase().includes(needle),
        ),
      ]
    : visible;
  return ok({
    channels: structuredClone(matching.slice(page.offset, page.offset + page.limit)),
    lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
    has_more: page.offset + page.limit < matching.length,
  });
}

// `users` mirrors `channels` (same query serializer shape, `user_id` for a single lookup:
// slack.py get_user_by_id), answering {users, lastRefreshedAt, has_more}.
function slackUsers({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'slack') {
    return invalid('users endpoint is only supported for Slack integrations');
  }
  const userId = param(query, 'user_id');
  if (userId) {
    const found = SLACK_USERS.find((u) => u.id === userId);
    return ok({ users: found ? [{ ...found }] : [] });
  }
  const page = pageQuery(query, 50, 200);
  if ('status' in page) return page;
  const needle = page.search.trim().toLowerCase();
  const matching = SLACK_USERS.filter(
    (u) =>
      !needle ||
      [u.id, u.name, u.real_name, u.display_name].some((v) => v.toLowerCase().includes(needle)),
  );
  return ok({
    users: structuredClone(matching.slice(page.offset, page.offset + page.limit)),
    lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
    has_more: page.offset + page.limit < matching.length,
  });
}

// `github_repos`: GitHubReposQuerySerializer first (search "", limit 100 in 1..500, offset 0),
// then get_object and the kind; search is a casefolded substring of full_name
// (GitHubIntegration._filter_cached_repositories).
function githubRepos({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const page = pageQuery(query, 100, 500);
  if ('status' in page) return page;
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') {
    return invalid('github_repos endpoint is only supported for GitHub integrations');
  }
  const needle = page.search.trim().toLowerCase();
  const matching = GITHUB_REPOSITORIES.filter((r) => r.full_name.toLowerCase().includes(needle));
  return ok({
    repositories: structuredClone(matching.slice(page.offset, page.offset + page.limit)),
    has_more: page.offset + page.limit < matching.length,
  });
}

// `github_repos/refresh` (POST, no body): get_object → kind → the whole refreshed cache.
function refreshRepos({ params: [id] }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') {
    return invalid('refresh_github_repos endpoint is only supported for GitHub integrations');
  }
  return ok({ repositories: structuredClone(GITHUB_REPOSITORIES) });
}

// `github_branches`: GitHubBranchesQuerySerializer (repo required; limit 100 in 1..1000) →
// validate_github_repository_name → get_object → kind → casefolded substring search.
function githubBranches({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const repoName = param(query, 'repo');
  if (repoName === undefined) return fieldError('repo', 'required', 'This field is required.');
  if (repoName === '') return fieldError('repo', 'blank', 'This field may not be blank.');
  const page = pageQuery(query, 100, 1000);
  if ('status' in page) return page;
  const parts = repoName.split('/');
  const part = /^[A-Za-z0-9_.-]+$/;
  if (parts.length !== 2 || parts.some((p) => !part.test(p) || p === '.' || p === '..')) {
    return invalid('repo must be in owner/repo format');
  }
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') {
    return invalid('github_branches endpoint is only supported for GitHub integrations');
  }
  // PostHog answers a 500 when GitHub 404s an unknown repository (list_all_branches raises); the
  // fake answers it as an empty repository so that any well-formed owner/name can be sent.
  const known = GITHUB_BRANCHES[repoName.toLowerCase()] ?? { default: null, branches: [] };
  const needle = page.search.trim().toLowerCase();
  const matching = known.branches.filter((b) => b.toLowerCase().includes(needle));
  return ok({
    branches: matching.slice(page.offset, page.offset + page.limit),
    default_branch: known.default,
    has_more: page.offset + page.limit < matching.length,
  });
}

// `github_teams`: GitHubTeamsQuerySerializer (limit 100 in 1..500) → GitHubIntegration(get_object()),
// whose constructor raises on another kind: PostHog answers that with a 500.
function githubTeams({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const page = pageQuery(query, 100, 500);
  if ('status' in page) return page;
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') return serverError();
  const needle = page.search.trim().toLowerCase();
  const matching = GITHUB_TEAMS.filter(
    (t) => t.name.toLowerCase().includes(needle) || t.slug.toLowerCase().includes(needle),
  );
  return ok({
    teams: structuredClone(matching.slice(page.offset, page.offset + page.limit)),
    has_more: page.offset + page.limit < matching.length,
  });
}

function jiraProjects({ params: [id] }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'jira') {
    return invalid('jira_projects endpoint is only supported for Jira integrations');
  }
  return ok({ projects: structuredClone(JIRA_PROJECTS) });
}

// `github/prepare_callback`: GitHubPrepareCallbackRequestSerializer (next, installation_id: optional
// strings), `next` must be relative, `installation_id` numeric; seeds the callback state; 204.
function prepareCallback({ body }: FakeContext): Reply {
  for (const field of ['next', 'installation_id']) {
    const value = body[field];
    if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') {
      return fieldError(field, 'invalid', 'Not a valid string.');
    }
  }
  const next = String(body.next ?? '');
  if (next && !(next.startsWith('/') && !next.startsWith('//'))) {
    return invalid('next must be a relative path starting with /');
  }
  const installationId = String(body.installation_id ?? '');
  if (installationId && !/^\d+$/.test(installationId)) return invalid('Invalid installation_id');
  return { status: 204 };
}

// ---------------------------------------------------------------------------------------------
// DRF pieces: query fields, PostHog's error body {type, code, detail, attr}

interface Page {
  search: string;
  limit: number;
  offset: number;
}

/** DRF IntegerField(min_value, max_value) + CharField(allow_blank) as the query serializers use. */
function pageQuery(query: Query, defaultLimit: number, maxLimit: number): Page | Reply {
  const search = param(query, 'search') ?? '';
  const limit = intField(query, 'limit', defaultLimit, 1, maxLimit);
  if (typeof limit !== 'number') return limit;
  const offset = intField(query, 'offset', 0, 0, undefined);
  if (typeof offset !== 'number') return offset;
  return { search, limit, offset };
}

function intField(
  query: Query,
  name: string,
  fallback: number,
  min: number,
  max: number | undefined,
): number | Reply {
  const raw = param(query, name);
  if (raw === undefined) return fallback;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) {
    return fieldError(name, 'invalid', 'A valid integer is required.');
  }
  const value = Number(raw);
  if (value < min) {
    return fieldError(name, 'min_value', `Ensure this value is greater than or equal to ${min}.`);
  }
  if (max !== undefined && value > max) {
    return fieldError(name, 'max_value', `Ensure this value is less than or equal to ${max}.`);
  }
  return value;
}

const fieldError = (attr: string, code: string, detail: string) => invalidField(attr, detail, code);
/** A bare `raise ValidationError("...")` in a view. */
const invalid = (detail: string) => invalidField(null, detail, 'invalid');

function channel(
  id: string,
  name: string,
  flags: Partial<
    Record<'is_private' | 'is_member' | 'is_ext_shared' | 'is_private_without_access', boolean>
  >,
) {
  return {
    id,
    name,
    is_private: false,
    is_member: true,
    is_ext_shared: false,
    is_private_without_access: false,
    ...flags,
  };
}

function repo(id: number, name: string, language: string, isPrivate: boolean, pushedAt: string) {
  return {
    id,
    name,
    full_name: `acme-inc/${name}`,
    private: isPrivate,
    default_branch: name === 'billing' ? 'trunk' : 'main',
    language,
    pushed_at: pushedAt,
    archived: false,
    can_push: true,
  };
}
