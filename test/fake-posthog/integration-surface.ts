/**
 * The simulated PostHog's Slack, GitHub and Jira helper actions (the README's route rows "slack/channels" to
 * "jira/projects"), with seeded data. Each handler follows PostHog's `IntegrationViewSet` in
 * posthog/api/integration.py @ 002c1fa4e7aa3f321807578c632bd97d43338014 (the commit that has every
 * one of these actions): the order of its checks, its query serializers (defaults, caps, DRF error
 * codes), its caches and throttles, its answer shapes and its wrong-kind answers. Where a helper
 * module decides the behaviour, its own file and commit are cited beside the code.
 * Registered as a FakeExtension (extensions.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  charField,
  type FakeCache,
  type FakeContext,
  type FakeExtension,
  type FakeRoute,
  type FakeStore,
  fakeRoute,
  type IntegrationRow,
  invalid as invalidField,
  isObject,
  isRelativeUrl,
  isValidGitHubInstallationId,
  notFound,
  ok,
  param,
  pythonInt,
  type Query,
  type Reply,
  serverError,
  simpleRateThrottle,
  throttled,
} from './protocol';
import type { Integration } from './seed';

export { GITHUB_TEAMS } from './seed';

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

/** The Slack workspace (team id) of the seeded Slack integration: its `integration_id`. */
export const SLACK_WORKSPACE_ID = 'T01EXAMPLE';

/** A raw member of Slack's users.list / users.info, the fields PostHog reads. */
export interface SlackMember {
  id: string;
  team_id?: string;
  name: string;
  real_name?: string;
  deleted: boolean;
  is_bot: boolean;
  is_restricted: boolean;
  is_ultra_restricted: boolean;
  is_stranger?: boolean;
  enterprise_user?: { teams: string[] };
  profile: { display_name: string; real_name?: string };
}

/**
 * The workspace's members as Slack's users.list answers them, before PostHog drops the ones it
 * cannot DM (posthog/models/integration/slack.py `SlackIntegration._belongs_to_workspace` and
 * `_is_dmable_user` @ 09a5050d2242c62f1119f72260ba3bae1aeefdb2).
 */
export const SLACK_MEMBERS: readonly SlackMember[] = [
  member('U0100000001', 'ada', 'Ada Lovelace', 'Ada'),
  member('U0100000002', 'grace', 'Grace Hopper', 'Grace'),
  member('U0100000003', 'alan', 'Alan Turing', 'alan.t'),
  member('U0100000004', 'katherine', 'Katherine Johnson', 'KJ'),
  // Enterprise Grid: another primary team, this workspace among enterprise_user.teams (kept).
  member('W0100000005', 'edsger', 'Edsger Dijkstra', 'EWD', {
    team_id: 'T05GRIDHOME',
    enterprise_user: { teams: ['T05GRIDHOME', SLACK_WORKSPACE_ID] },
  }),
  // No display name: PostHog shows the real name.
  member('U0100000006', 'margaret', 'Margaret Hamilton', ''),
  // Dropped by PostHog:
  member('U0200000001', 'deploy-bot', 'Deploy Bot', '', { is_bot: true }),
  member('U0200000002', 'casey', 'Casey Contractor', 'Casey', { is_restricted: true }), // guest
  member('U0200000003', 'alex', 'Alex Auditor', 'Alex', {
    is_restricted: true,
    is_ultra_restricted: true, // single-channel guest
  }),
  member('U0200000004', 'former', 'Former Colleague', 'Former', { deleted: true }),
  member('USLACKBOT', 'slackbot', 'Slackbot', 'Slackbot'), // not is_bot: dropped by its id
  member('U0200000005', 'pat', 'Pat Partner', 'Pat', { team_id: 'T09PARTNER' }), // Slack Connect
  member('U0200000006', 'sam', 'Sam Stranger', 'Sam', { team_id: undefined, is_stranger: true }),
];

/** Stamped by PostHog on its 1-hour Slack cache ("lastRefreshedAt"). */
export const SLACK_LAST_REFRESHED_AT = '2025-05-01T08:00:00+00:00';

/**
 * The members PostHog answers for the seeded Slack integration, as the users list answers them:
 * `{id, name, display_name}` sorted by `display_name.lower()` (IntegrationViewSet.users).
 */
export const SLACK_USERS = slackUsersOf(SLACK_WORKSPACE_ID);

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

/**
 * `GitHubAvailableInstallationSerializer` items: installations of the organization's other
 * projects (source_team_id, source_team_name) and one no project has linked yet, seen through
 * the user's personal GitHub link (both null).
 */
export const GITHUB_INSTALLATIONS: readonly {
  installation_id: string;
  account_name: string | null;
  account_type: string | null;
  source_team_id: number | null;
  source_team_name: string | null;
}[] = [
  {
    installation_id: '51234567',
    account_name: 'acme-inc',
    account_type: 'Organization',
    source_team_id: 2,
    source_team_name: 'Acme Web',
  },
  {
    installation_id: '58765432',
    account_name: 'acme-labs',
    account_type: 'Organization',
    source_team_id: 3,
    source_team_name: 'Acme Labs',
  },
  {
    installation_id: '63456789',
    account_name: 'ada-lovelace',
    account_type: 'User',
    source_team_id: null,
    source_team_name: null,
  },
];

/** The key owner's personal GitHub link, as `github/available_installations` reports it. */
export const GITHUB_PERSONAL_DISCOVERY = {
  personal_github_connected: true,
  personal_github_login: 'ada-lovelace' as string | null,
  personal_discovery_status: 'ok' as 'ok' | 'not_connected' | 'unavailable',
};

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
// PostHog's constants (posthog/api/integration.py @ 002c1fa4e7aa3f321807578c632bd97d43338014)

/** `SLACK_CHANNELS_CACHE_SECONDS`, and the users list's and per-id lookups' `60 * 60`. */
const SLACK_CACHE_SECONDS = 60 * 60;
/** `SLACK_USERS_INFO_LOOKUPS_PER_MINUTE`, `SLACK_CHANNELS_INFO_LOOKUPS_PER_MINUTE`. */
const SLACK_LOOKUPS_PER_MINUTE = 30;
/** posthog/helpers/fuzzy_search.py `DEFAULT_SCORE_CUTOFF` @ 0deb9c9c1e8981f83a51e78d902ab056bd7d602e. */
const FUZZY_SCORE_CUTOFF = 70;
/**
 * posthog/rate_limit.py `GitHubRepositoryRefreshThrottle` @ 00b34d8231ad5f9095856f5a16307eff2fb0a5b7:
 * rate "10/minute", scope "github_repository_refresh", keyed per team (`ident = team_<id>`).
 */
const GITHUB_REFRESH_PER_MINUTE = 10;

// ---------------------------------------------------------------------------------------------
// Routes

export const integrationSurface: FakeExtension = (store) => {
  const detail = (
    method: FakeRoute['method'],
    path: string,
    action: string,
    handler: (ctx: FakeContext, store: FakeStore) => Reply,
    extra: Pick<FakeRoute, 'github' | 'throttle'> = {},
  ) =>
    fakeRoute(method, 'project', `/integrations/:int/${path}`, {
      scopeObject: 'integration',
      action,
      ...extra,
      handler: (ctx) => handler(ctx, store),
    });
  return [
    detail('GET', 'channels', 'channels', slackChannels),
    detail('GET', 'users', 'users', slackUsers),
    detail('GET', 'github_repos', 'github_repos', githubRepos, { github: true }),
    // IntegrationViewSet.get_throttles: GitHubRepositoryRefreshThrottle on this action only, on
    // top of the personal-key throttles (the fake's `status` mode stands in for those).
    detail('POST', 'github_repos/refresh', 'refresh_github_repos', refreshRepos, {
      github: true,
      throttle: () =>
        simpleRateThrottle(
          store.cache,
          `throttle_github_repository_refresh_team_${store.projectId}`,
          GITHUB_REFRESH_PER_MINUTE,
          60,
        ),
    }),
    detail('GET', 'github_branches', 'github_branches', githubBranches, { github: true }),
    detail('GET', 'github_teams', 'github_teams', githubTeams, { github: true }),
    detail('GET', 'jira_projects', 'jira_projects', jiraProjects),
    fakeRoute('GET', 'project', '/integrations/github/available_installations', {
      scopeObject: 'integration',
      action: 'github_available_installations',
      handler: availableInstallations,
    }),
    // Not in dangerously_get_permissions: the viewset's IntegrationManagementPermission
    // (TeamMemberStrictManagementPermission) keeps this POST to project admins.
    fakeRoute('POST', 'project', '/integrations/github/prepare_callback', {
      scopeObject: 'integration',
      action: 'github_prepare_callback',
      admin: 'project',
      handler: prepareCallback,
    }),
  ];
};

// `channels`: get_object → kind → SlackChannelsQuerySerializer (search "", limit 50 in 1..200,
// offset ≥ 0, channel_id "", force_refresh) → authed_user → a channel_id lookup, or the list from
// the 1-hour cache `slack/{id}/{include_private}/channels` (filled sorted by name, case-sensitive:
// slack.py list_channels) → search → page. force_refresh is honoured for browser sessions only,
// so never for the fake's personal key.
function slackChannels({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'slack') {
    return invalid('channels endpoint is only supported for Slack integrations');
  }
  const q = slackQuery(query, 'channel_id');
  if (isReply(q)) return q;
  const authedUser = (integration.config?.authed_user as { id?: string } | undefined)?.id;
  if (!authedUser) return invalid('SlackIntegration: Missing authed_user_id in integration config');
  // The fake's one caller, the key owner, created the seeded Slack integration: private
  // channels are included (`should_include_private_channels`).
  const key = `slack/${integration.id}/True/channels`;
  if (q.lookup) {
    const cached = store.cache.get<SlackList<'channels', SlackChannel>>(key);
    const hit = cached?.channels.find((c) => c.id === q.lookup);
    if (hit) return ok({ channels: [hit] });
    const refused = takeSlackLookupBudget(
      store.cache,
      `slack/${integration.id}/channels_info_budget`,
      'Too many Slack channel lookups. Try again in a minute.',
    );
    if (refused) return refused;
    // conversations.info: a found channel is merged into the cached list (_cache_slack_channel),
    // a missing one dropped from it (_drop_cached_slack_channel); neither when nothing is cached.
    const found = SLACK_CHANNELS.find((c) => c.id === q.lookup);
    const list = store.cache.get<SlackList<'channels', SlackChannel>>(key);
    if (list) {
      const at = list.channels.findIndex((c) => c.id === q.lookup);
      if (found && at >= 0) list.channels[at] = { ...found };
      else if (found) list.channels.push({ ...found });
      else if (at >= 0) list.channels.splice(at, 1);
      store.cache.replace(key, list); // `_mutate_cached_slack_channels`: SET ... XX KEEPTTL
    }
    return ok({ channels: found ? [{ ...found }] : [] });
  }
  let data = store.cache.get<SlackList<'channels', SlackChannel>>(key);
  if (!data) {
    const channels = [...SLACK_CHANNELS].sort((a, b) => compareCodePoints(a.name, b.name));
    data = { channels, lastRefreshedAt: SLACK_LAST_REFRESHED_AT };
    store.cache.set(key, data, SLACK_CACHE_SECONDS);
  }
  const matching = filterSlackChannels(data.channels, q.search);
  return ok({
    channels: matching.slice(q.offset, q.offset + q.limit),
    lastRefreshedAt: data.lastRefreshedAt,
    has_more: q.offset + q.limit < matching.length,
  });
}

// `users`: get_object → kind → SlackUsersQuerySerializer (as channels, with user_id) → a user_id
// lookup, or the list from the 1-hour cache `slack/{id}/users` (members that pass slack.py's
// workspace and DM checks, serialized, sorted by display_name.lower()) → search → page.
function slackUsers({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'slack') {
    return invalid('users endpoint is only supported for Slack integrations');
  }
  const q = slackQuery(query, 'user_id');
  if (isReply(q)) return q;
  const key = `slack/${integration.id}/users`;
  if (q.lookup) {
    // The full list's member, else the per-id cache (hits and misses, 1 h), else users.info
    // after spending the per-integration budget. No lastRefreshedAt, no has_more on this path.
    const hit = store.cache
      .get<SlackList<'users', SlackUser>>(key)
      ?.users.find((u) => u.id === q.lookup);
    if (hit) return ok({ users: [hit] });
    const lookupKey = `${key}/${q.lookup}`;
    const cached = store.cache.get<SlackUser[]>(lookupKey);
    if (cached !== undefined) return ok({ users: cached });
    const refused = takeSlackLookupBudget(
      store.cache,
      `slack/${integration.id}/users_info_budget`,
      'Too many Slack member lookups. Try again in a minute.',
    );
    if (refused) return refused;
    // slack.py get_user_by_id: None for another workspace, a member it cannot DM, user_not_found.
    const raw = SLACK_MEMBERS.find((m) => m.id === q.lookup);
    const workspace = slackWorkspaceId(integration);
    const users =
      raw && belongsToWorkspace(raw, workspace) && isDmable(raw) ? [serializeSlackUser(raw)] : [];
    store.cache.set(lookupKey, users, SLACK_CACHE_SECONDS);
    return ok({ users });
  }
  let data = store.cache.get<SlackList<'users', SlackUser>>(key);
  if (!data) {
    data = {
      users: slackUsersOf(slackWorkspaceId(integration)),
      lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
    };
    store.cache.set(key, data, SLACK_CACHE_SECONDS);
  }
  const matching = filterSlackUsers(data.users, q.search);
  return ok({
    users: matching.slice(q.offset, q.offset + q.limit),
    lastRefreshedAt: data.lastRefreshedAt,
    has_more: q.offset + q.limit < matching.length,
  });
}

// `github_repos`: GitHubReposQuerySerializer first (search "", limit 100 in 1..500, offset 0),
// then get_object and the kind; search is a stripped, casefolded substring of full_name
// (github_integration_base.py `_filter_cached_repositories` @
// 00f6238b5f94939a83073087e2ff66f982f86fc4); `total` is `count_cached_repositories(search)`: the
// matching repositories across all pages.
function githubRepos({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const page = pageQuery(query, 100, 500);
  if (isReply(page)) return page;
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
    total: matching.length,
  });
}

// `github_repos/refresh` (POST, no body; GitHubRepositoryRefreshThrottle ran before it):
// get_object → kind → sync_repository_cache (a cooldown of 30 s serves the stored list) →
// {repositories, installation_status}. An installation GitHub reports uninstalled or suspended
// (`config.installation_unavailable_since`, github_integration_base.py `installation_unavailable`
// @ 00f6238b5f94939a83073087e2ff66f982f86fc4) answers the last cached list as "unavailable".
function refreshRepos({ params: [id] }: FakeContext, store: FakeStore): Reply {
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') {
    return invalid('refresh_github_repos endpoint is only supported for GitHub integrations');
  }
  const unavailable = Boolean(integration.config.installation_unavailable_since);
  return ok({
    repositories: structuredClone(GITHUB_REPOSITORIES),
    installation_status: unavailable ? 'unavailable' : 'connected',
  });
}

// `github_branches`: GitHubBranchesQuerySerializer (repo required; limit 100 in 1..1000) →
// validate_github_repository_name → get_object → kind → casefolded substring search.
function githubBranches({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const repoName = charParam(query, 'repo', { required: true });
  if (isReply(repoName)) return repoName;
  const page = pageQuery(query, 100, 1000);
  if (isReply(page)) return page;
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
  // An unknown or inaccessible repository is PostHog's own 200 with nothing in it:
  // github_integration_base.py `list_branches` returns ([], False) on GitHub's non-200 and
  // `sync_branch_cache` sets default_branch None when get_default_branch fails (@
  // 00f6238b5f94939a83073087e2ff66f982f86fc4).
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
// whose constructor raises on another kind: a 500 (no kind check in the view). Then
// github_integration_base.py `GitHubIntegrationBase.list_teams` @
// 00f6238b5f94939a83073087e2ff66f982f86fc4 over GitHub's pages of 100 of the org's teams:
// without a search, the exact window [offset, offset + limit + 1); with one, at most 10 pages
// from the page holding `offset` (offset % 100 is ignored), filtered on slug or name, and the
// first limit + 1 matches. has_more: more than `limit` in that window.
function githubTeams({ params: [id], query }: FakeContext, store: FakeStore): Reply {
  const page = pageQuery(query, 100, 500);
  if (isReply(page)) return page;
  const integration = store.integration(id);
  if (!integration) return notFound();
  if (integration.kind !== 'github') return serverError();
  const account = integration.config.account;
  if (!(isObject(account) && account.name)) return ok({ teams: [], has_more: false });
  const teams = store.data.githubTeams;
  const needle = page.search.toLowerCase().trim();
  const perPage = 100;
  let window: typeof teams;
  if (needle) {
    const firstTeam = Math.floor(page.offset / perPage) * perPage;
    window = teams
      .slice(firstTeam, firstTeam + 10 * perPage)
      .filter((t) => t.slug.toLowerCase().includes(needle) || t.name.toLowerCase().includes(needle))
      .slice(0, page.limit + 1);
  } else {
    window = teams.slice(page.offset, page.offset + page.limit + 1);
  }
  return ok({
    teams: structuredClone(window.slice(0, page.limit)),
    has_more: window.length > page.limit,
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

// `github/available_installations`: the payload built in the view, in its key order, with a fresh
// uuid4 `discovery_id`, `discovered_at` = timezone.now().isoformat(), and
// `Cache-Control: private, no-store`.
function availableInstallations(): Reply {
  return {
    status: 200,
    body: {
      installations: structuredClone(GITHUB_INSTALLATIONS),
      personal_github_connected: GITHUB_PERSONAL_DISCOVERY.personal_github_connected,
      personal_github_login: GITHUB_PERSONAL_DISCOVERY.personal_github_login,
      personal_discovery_status: GITHUB_PERSONAL_DISCOVERY.personal_discovery_status,
      discovery_id: randomUUID(),
      discovered_at: pythonIsoNow(),
    },
    headers: { 'Cache-Control': 'private, no-store' },
  };
}

// `github/prepare_callback`: GitHubPrepareCallbackRequestSerializer (next, installation_id:
// CharField required=False allow_blank, not nullable) → a non-empty `next` must be
// `is_relative_url`, a non-empty installation_id `is_valid_github_installation_id` → seeds the
// callback state → 204.
function prepareCallback({ body }: FakeContext): Reply {
  const next = charField(body, 'next', { allowBlank: true });
  if (isReply(next)) return next;
  const installationId = charField(body, 'installation_id', { allowBlank: true });
  if (isReply(installationId)) return installationId;
  if (next && !isRelativeUrl(next)) return invalid('next must be a relative path starting with /');
  if (installationId && !isValidGitHubInstallationId(installationId)) {
    return invalid('Invalid installation_id');
  }
  return { status: 204 };
}

// ---------------------------------------------------------------------------------------------
// Slack (posthog/api/integration.py @ 002c1fa4e7aa3f321807578c632bd97d43338014 and
// posthog/models/integration/slack.py @ 09a5050d2242c62f1119f72260ba3bae1aeefdb2)

type SlackChannel = (typeof SLACK_CHANNELS)[number];
/** An item of the `users` answer (`SlackUserSerializer`). */
export type SlackUser = { id: string; name: string; display_name: string };
type SlackList<K extends string, T> = { [key in K]: T[] } & { lastRefreshedAt: string };

/** The integration's workspace: its `integration_id`, the Slack team id of its config. */
function slackWorkspaceId(integration: IntegrationRow): string | undefined {
  const team = integration.config?.team;
  return isObject(team) && typeof team.id === 'string' ? team.id : undefined;
}

/** `_belongs_to_workspace`: not a stranger, and this workspace's, or no team, or Grid's. */
function belongsToWorkspace(m: SlackMember, workspace: string | undefined): boolean {
  if (m.is_stranger) return false;
  return (
    m.team_id === undefined ||
    m.team_id === workspace ||
    (workspace !== undefined && (m.enterprise_user?.teams ?? []).includes(workspace))
  );
}

/** `_is_dmable_user`: no deleted users, bots, guests of either kind, nor Slackbot. */
function isDmable(m: SlackMember): boolean {
  return (
    !m.deleted && !m.is_bot && !m.is_restricted && !m.is_ultra_restricted && m.id !== 'USLACKBOT'
  );
}

/** `_serialize_slack_user`: display_name = profile.display_name or real_name or name. */
function serializeSlackUser(m: SlackMember): SlackUser {
  return { id: m.id, name: m.name, display_name: m.profile.display_name || m.real_name || m.name };
}

/** The users list as PostHog caches it for a workspace: kept, serialized, sorted case-blind. */
function slackUsersOf(workspace: string | undefined): SlackUser[] {
  return SLACK_MEMBERS.filter((m) => belongsToWorkspace(m, workspace) && isDmable(m))
    .map(serializeSlackUser)
    .sort((a, b) => compareCodePoints(a.display_name.toLowerCase(), b.display_name.toLowerCase()));
}

/**
 * `_take_slack_lookup_budget`: a fixed 60 s counter per integration (`cache.add(key, 1, 60)`, else
 * `cache.incr`), refused past `SLACK_*_INFO_LOOKUPS_PER_MINUTE` with `Throttled(detail=...)`: no
 * wait, so no Retry-After.
 */
function takeSlackLookupBudget(cache: FakeCache, key: string, detail: string): Reply | undefined {
  let lookups: number;
  if (cache.add(key, 1, 60)) {
    lookups = 1;
  } else {
    try {
      lookups = cache.incr(key);
    } catch {
      lookups = 1; // expired between the add and the incr
    }
  }
  return lookups > SLACK_LOOKUPS_PER_MINUTE ? throttled(null, detail) : undefined;
}

/** `_filter_slack_users_for_search`: fuzzy on "display_name name", then ids containing it. */
function filterSlackUsers(users: SlackUser[], search: string): SlackUser[] {
  const query = search.trim();
  if (!query) return users;
  const ranked = fuzzyFilter(query, users, (m) => `${m.display_name} ${m.name}`);
  return withIdMatches(ranked, users, query);
}

/** `_filter_slack_channels_for_search`: never masked ones; fuzzy on the name, then ids. */
function filterSlackChannels(channels: SlackChannel[], search: string): SlackChannel[] {
  const visible = channels.filter((c) => !c.is_private_without_access);
  const query = search.trim();
  if (!query) return visible;
  return withIdMatches(
    fuzzyFilter(query, visible, (c) => c.name),
    visible,
    query,
  );
}

/** The ranked items, then every other item whose id contains the query case-insensitively. */
function withIdMatches<T extends { id: string }>(ranked: T[], all: T[], query: string): T[] {
  const rankedIds = new Set(ranked.map((item) => item.id));
  const needle = query.toLowerCase();
  return [
    ...ranked,
    ...all.filter((item) => item.id.toLowerCase().includes(needle) && !rankedIds.has(item.id)),
  ];
}

// ---------------------------------------------------------------------------------------------
// PostHog's fuzzy search: posthog/helpers/fuzzy_search.py `fuzzy_filter` @
// 0deb9c9c1e8981f83a51e78d902ab056bd7d602e = rapidfuzz `process.extract(query, keys,
// scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=70)`, best first, ties in
// input order. PostHog pins `rapidfuzz==3.14.5` (pyproject.toml @
// 00243dea9ac63857160d7e72ee39fb0c57a358de). Below is rapidfuzz's own WRatio, ported from its
// pure-Python reference (rapidfuzz/RapidFuzz src/rapidfuzz/fuzz_py.py @
// 0c1810633785f328a6823ed1e89421f96a76834e, with 3.14's `len_ratio <= 8.0`) and checked against
// rapidfuzz 3.14.6's compiled WRatio on 4,300 string pairs; not fuzzball, which ports fuzzywuzzy's
// WRatio (close to rapidfuzz's, but its partial_ratio aligns on difflib blocks and can score
// differently). Cutoffs inside WRatio only zero scores below the final cutoff, so the fake
// applies the cutoff once.

/** rapidfuzz `utils.default_process`: non-alphanumerics (underscore too) to spaces, trim, lower. */
export function defaultProcess(sentence: string): string {
  return sentence
    .replace(/[^\p{L}\p{N}]/gu, ' ')
    .trim()
    .toLowerCase();
}

/** `fuzz.WRatio` on two processed strings, 0..100. */
export function wRatio(s1: string, s2: string): number {
  const a = Array.from(s1);
  const b = Array.from(s2);
  if (!a.length || !b.length) return 0;
  const UNBASE_SCALE = 0.95;
  const lenRatio = a.length > b.length ? a.length / b.length : b.length / a.length;
  let endRatio = ratio(a, b);
  if (lenRatio < 1.5) return Math.max(endRatio, tokenRatio(s1, s2) * UNBASE_SCALE);
  const PARTIAL_SCALE = lenRatio <= 8 ? 0.9 : 0.6; // `<= 8.0` in 3.14 (`< 8.0` before)
  endRatio = Math.max(endRatio, partialRatio(a, b) * PARTIAL_SCALE);
  return Math.max(endRatio, partialTokenRatio(s1, s2) * UNBASE_SCALE * PARTIAL_SCALE);
}

function fuzzyFilter<T>(query: string, items: readonly T[], key: (item: T) => string): T[] {
  const processed = defaultProcess(query);
  return items
    .map((item, index) => ({ item, index, score: wRatio(processed, defaultProcess(key(item))) }))
    .filter((match) => match.score >= FUZZY_SCORE_CUTOFF)
    .sort((x, y) => y.score - x.score || x.index - y.index)
    .map((match) => match.item);
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const char of a) {
    const row = [0];
    for (let j = 0; j < b.length; j++) {
      row.push(char === b[j] ? previous[j] + 1 : Math.max(previous[j + 1], row[j]));
    }
    previous = row;
  }
  return previous[b.length];
}

/** Normalized Indel similarity, 0..1: 1 - (len1 + len2 - 2·LCS) / (len1 + len2). */
function indelSimilarity(a: readonly string[], b: readonly string[]): number {
  const lensum = a.length + b.length;
  return lensum ? 1 - (lensum - 2 * lcsLength(a, b)) / lensum : 1;
}

/** `fuzz.ratio`. */
const ratio = (a: readonly string[], b: readonly string[]) => indelSimilarity(a, b) * 100;

/** `_norm_distance`. */
const normDistance = (dist: number, lensum: number) => (lensum ? 100 - (100 * dist) / lensum : 100);

/** `fuzz.partial_ratio`: the shorter string against every alignment in the longer one. */
function partialRatio(s1: readonly string[], s2: readonly string[]): number {
  if (!s1.length && !s2.length) return 100;
  const [shorter, longer] = s1.length <= s2.length ? [s1, s2] : [s2, s1];
  let score = partialRatioImpl(shorter, longer);
  if (score !== 100 && s1.length === s2.length) {
    score = Math.max(score, partialRatioImpl(longer, shorter));
  }
  return score;
}

function partialRatioImpl(s1: readonly string[], s2: readonly string[]): number {
  const len1 = s1.length;
  const len2 = s2.length;
  const chars = new Set(s1);
  let best = 0;
  const consider = (window: readonly string[]) => {
    best = Math.max(best, indelSimilarity(s1, window));
    return best === 1;
  };
  for (let i = 1; i < len1; i++) {
    if (chars.has(s2[i - 1]) && consider(s2.slice(0, i))) return 100;
  }
  for (let i = 0; i < len2 - len1; i++) {
    if (chars.has(s2[i + len1 - 1]) && consider(s2.slice(i, i + len1))) return 100;
  }
  for (let i = Math.max(0, len2 - len1); i < len2; i++) {
    if (chars.has(s2[i]) && consider(s2.slice(i))) return 100;
  }
  return best * 100;
}

const tokens = (s: string) => s.split(/\s+/).filter(Boolean);
const joinedLength = (words: readonly string[]) => Array.from(words.join(' ')).length;

/** `fuzz.token_ratio`: max(token_set_ratio, token_sort_ratio). */
function tokenRatio(s1: string, s2: string): number {
  const sorted1 = Array.from(tokens(s1).sort().join(' '));
  const sorted2 = Array.from(tokens(s2).sort().join(' '));
  return Math.max(tokenSetRatio(s1, s2), ratio(sorted1, sorted2));
}

function tokenSetRatio(s1: string, s2: string): number {
  const a = new Set(tokens(s1));
  const b = new Set(tokens(s2));
  if (!a.size || !b.size) return 0;
  const intersection = [...a].filter((t) => b.has(t));
  const diffAB = [...a].filter((t) => !b.has(t)).sort();
  const diffBA = [...b].filter((t) => !a.has(t)).sort();
  if (intersection.length && (!diffAB.length || !diffBA.length)) return 100;
  const abJoined = Array.from(diffAB.join(' '));
  const baJoined = Array.from(diffBA.join(' '));
  const sectLen = joinedLength(intersection);
  const sectAbLen = sectLen + (sectLen ? 1 : 0) + abJoined.length;
  const sectBaLen = sectLen + (sectLen ? 1 : 0) + baJoined.length;
  const dist = abJoined.length + baJoined.length - 2 * lcsLength(abJoined, baJoined);
  const result = normDistance(dist, sectAbLen + sectBaLen);
  if (!sectLen) return result;
  const sectAbRatio = normDistance(1 + abJoined.length, sectLen + sectAbLen);
  const sectBaRatio = normDistance(1 + baJoined.length, sectLen + sectBaLen);
  return Math.max(result, sectAbRatio, sectBaRatio);
}

/** `fuzz.partial_token_ratio`: max(partial_token_set_ratio, partial_token_sort_ratio). */
function partialTokenRatio(s1: string, s2: string): number {
  const splitA = tokens(s1);
  const splitB = tokens(s2);
  const a = new Set(splitA);
  const b = new Set(splitB);
  if ([...a].some((t) => b.has(t))) return 100;
  const result = partialRatio(
    Array.from([...splitA].sort().join(' ')),
    Array.from([...splitB].sort().join(' ')),
  );
  if (splitA.length === a.size && splitB.length === b.size) return result;
  return Math.max(
    result,
    partialRatio(Array.from([...a].sort().join(' ')), Array.from([...b].sort().join(' '))),
  );
}

// ---------------------------------------------------------------------------------------------
// DRF pieces: query fields, PostHog's error body {type, code, detail, attr}

interface Page {
  search: string;
  limit: number;
  offset: number;
}

/** SlackChannelsQuerySerializer / SlackUsersQuerySerializer, fields in declaration order. */
function slackQuery(query: Query, lookupField: string): (Page & { lookup: string }) | Reply {
  const page = pageQuery(query, 50, 200);
  if (isReply(page)) return page;
  const lookup = charParam(query, lookupField);
  if (isReply(lookup)) return lookup;
  const forceRefresh = boolParam(query, 'force_refresh');
  if (isReply(forceRefresh)) return forceRefresh;
  return { ...page, lookup };
}

/** search (CharField allow_blank, default ""), limit (IntegerField 1..max), offset (≥ 0). */
function pageQuery(query: Query, defaultLimit: number, maxLimit: number): Page | Reply {
  const search = charParam(query, 'search');
  if (isReply(search)) return search;
  const limit = intParam(query, 'limit', defaultLimit, 1, maxLimit);
  if (isReply(limit)) return limit;
  const offset = intParam(query, 'offset', 0, 0, undefined);
  if (isReply(offset)) return offset;
  return { search, limit, offset };
}

/**
 * A DRF CharField (trim_whitespace) read from the QueryDict: absent is its default "" (or 400
 * "This field is required."), a blank value is "" when blank is allowed.
 */
function charParam(query: Query, name: string, opts: { required?: boolean } = {}): string | Reply {
  const raw = param(query, name);
  if (raw === undefined)
    return opts.required ? fieldError(name, 'required', 'This field is required.') : '';
  const value = raw.trim();
  if (value === '' && opts.required)
    return fieldError(name, 'blank', 'This field may not be blank.');
  if (value.includes('\0')) {
    return fieldError(name, 'null_characters_not_allowed', 'Null characters are not allowed.');
  }
  return value;
}

/**
 * A DRF IntegerField from the QueryDict: absent or "" is the default (an HTML-input field that
 * is not required), else `int(re.sub(r"\.0*\s*$", "", value))` within min..max.
 */
function intParam(
  query: Query,
  name: string,
  fallback: number,
  min: number,
  max: number | undefined,
): number | Reply {
  const raw = param(query, name);
  if (raw === undefined || raw === '') return fallback;
  if (raw.length > 1000) return fieldError(name, 'max_string_length', 'String value too large.');
  const value = pythonInt(raw);
  if (value === undefined) return fieldError(name, 'invalid', 'A valid integer is required.');
  if (value < min) {
    return fieldError(name, 'min_value', `Ensure this value is greater than or equal to ${min}.`);
  }
  if (max !== undefined && value > max) {
    return fieldError(name, 'max_value', `Ensure this value is less than or equal to ${max}.`);
  }
  return value;
}

const TRUE_VALUES = [
  't',
  'T',
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
  '1',
];
const FALSE_VALUES = [
  'f',
  'F',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
  '0',
];

/** A DRF BooleanField from the QueryDict: absent or "" is False. */
function boolParam(query: Query, name: string): boolean | Reply {
  const raw = param(query, name);
  if (raw === undefined || raw === '') return false;
  if (TRUE_VALUES.includes(raw)) return true;
  if (FALSE_VALUES.includes(raw)) return false;
  return fieldError(name, 'invalid', 'Must be a valid boolean.');
}

const fieldError = (attr: string, code: string, detail: string) => invalidField(attr, detail, code);
/** A bare `raise ValidationError("...")` in a view. */
const invalid = (detail: string) => invalidField(null, detail, 'invalid');
const isReply = (value: unknown): value is Reply => isObject(value) && 'status' in value;

/** Python's ordering of str: by code point. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Python's `timezone.now().isoformat()`: microseconds (when any) and "+00:00". */
function pythonIsoNow(): string {
  const iso = new Date().toISOString();
  return iso.endsWith('.000Z') ? iso.replace('.000Z', '+00:00') : iso.replace('Z', '000+00:00');
}

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

function member(
  id: string,
  name: string,
  realName: string,
  displayName: string,
  extra: Partial<SlackMember> = {},
): SlackMember {
  return {
    id,
    team_id: SLACK_WORKSPACE_ID,
    name,
    real_name: realName,
    deleted: false,
    is_bot: false,
    is_restricted: false,
    is_ultra_restricted: false,
    profile: { display_name: displayName, real_name: realName },
    ...extra,
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
