// The Slack, GitHub and Jira helper routes (the README's route table, "slack/channels" to
// "jira/projects") against the simulated PostHog (test/fake-posthog/integration-surface.ts): what
// PostHog received (method, exact path, query, body, key), what the caller got, PostHog's caps and
// has_more paging, caching and invalidation, every bad input answered 400 before any upstream
// call, the wrong integration kind, and 403 for a caller without the route's scope.
import { createHash } from 'node:crypto';
import type { RecordedRequest } from './fake-posthog/fake-posthog';
import {
  GITHUB_BRANCHES,
  GITHUB_REPOSITORIES,
  GITHUB_TEAMS,
  JIRA_PROJECTS,
  jiraIntegration,
  SLACK_CHANNELS,
  SLACK_LAST_REFRESHED_AT,
  SLACK_USERS,
} from './fake-posthog/integration-surface';
import { expectProblem, onlyUpstreamCall, useStack } from './support/expectations';
import { type Answer, POSTHOG_KEY, startStack } from './support/stack';

const PROJECT = '/api/projects/1/integrations';
const SLACK = 1;
const GITHUB = 2;
const JIRA = 7;
const visibleChannels = SLACK_CHANNELS.filter((c) => !c.is_private_without_access);

const stack = useStack('integrations');

beforeEach(() => {
  // The seed has no Jira integration; PostHog would have one after its OAuth flow.
  stack().fake.data.integrations.push(jiraIntegration(JIRA));
});

const get = (path: string) => stack().client.get(path);

/**
 * The helper call PostHog received for `answer`, after the BFF's read of integration `id` (the
 * kind check), both with the BFF's key and request id.
 */
function helperCall(answer: Answer, id: number): RecordedRequest {
  const [kindRead, helper] = stack().fake.requests;
  expect(stack().fake.requests).toHaveLength(2);
  expect(kindRead).toMatchObject({ method: 'GET', path: `${PROJECT}/${id}/` });
  for (const call of [kindRead, helper]) {
    expect(call.headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
    expect(call.headers['x-request-id']).toBe(answer.headers.get('x-request-id'));
  }
  return helper;
}
const post = (path: string, body?: unknown) => stack().client.call('POST', path, { body });

describe('reads answer PostHog’s JSON unchanged from the project route, and are cached', () => {
  it.each([
    [
      SLACK,
      `/v1/integrations/${SLACK}/slack/channels`,
      `${PROJECT}/${SLACK}/channels/`,
      { channels: visibleChannels, lastRefreshedAt: SLACK_LAST_REFRESHED_AT, has_more: false },
    ],
    [
      SLACK,
      `/v1/integrations/${SLACK}/slack/users`,
      `${PROJECT}/${SLACK}/users/`,
      { users: SLACK_USERS, lastRefreshedAt: SLACK_LAST_REFRESHED_AT, has_more: false },
    ],
    [
      GITHUB,
      `/v1/integrations/${GITHUB}/github/repos`,
      `${PROJECT}/${GITHUB}/github_repos/`,
      { repositories: GITHUB_REPOSITORIES, has_more: false, total: GITHUB_REPOSITORIES.length },
    ],
    [
      GITHUB,
      `/v1/integrations/${GITHUB}/github/teams`,
      `${PROJECT}/${GITHUB}/github_teams/`,
      { teams: GITHUB_TEAMS, has_more: false },
    ],
    [
      JIRA,
      `/v1/integrations/${JIRA}/jira/projects`,
      `${PROJECT}/${JIRA}/jira_projects/`,
      { projects: JIRA_PROJECTS },
    ],
  ])('(integration %s) GET %s → GET %s', async (id, path, upstream, expected) => {
    const answer = await get(path);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual(expected);
    const call = id === undefined ? onlyUpstreamCall(stack(), answer) : helperCall(answer, id);
    expect(call).toMatchObject({ method: 'GET', path: upstream, query: {} });
    const calls = stack().fake.requests.length;

    const again = await get(path);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.json).toEqual(expected);
    expect(stack().fake.requests).toHaveLength(calls);
  });

  it('GET .../github/branches sends repo and answers the default branch first', async () => {
    const answer = await get(
      `/v1/integrations/${GITHUB}/github/branches?repo=acme-inc/posthog-bff`,
    );

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      branches: GITHUB_BRANCHES['acme-inc/posthog-bff'].branches,
      default_branch: 'main',
      has_more: false,
    });
    const call = helperCall(answer, GITHUB);
    expect(call).toMatchObject({ method: 'GET', path: `${PROJECT}/${GITHUB}/github_branches/` });
    expect(call.query).toEqual({ repo: 'acme-inc/posthog-bff' });
  });
});

describe('search, limit and offset reach PostHog, which pages with has_more', () => {
  it('Slack channels: a search page of one, then the next page', async () => {
    const path = `/v1/integrations/${SLACK}/slack/channels?search=ALERT&limit=1`;

    const first = await get(path);
    const second = await get(`${path}&offset=1`);

    expect(first.json).toEqual({
      channels: [SLACK_CHANNELS[0]],
      lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
      has_more: true,
    });
    expect(second.json.channels.map((c: { name: string }) => c.name)).toEqual(['alerts-staging']);
    expect(second.json.has_more).toBe(false);
    // The integration's kind is read once, then served from the cache.
    expect(stack().fake.requests.map((r) => r.query)).toEqual([
      {},
      { search: 'ALERT', limit: '1' },
      { search: 'ALERT', limit: '1', offset: '1' },
    ]);
  });

  it('Slack channels: channel_id looks one channel up, private ones included', async () => {
    const answer = await get(`/v1/integrations/${SLACK}/slack/channels?channel_id=G0100000006`);

    expect(answer.json).toEqual({ channels: [SLACK_CHANNELS[5]] });
    expect(helperCall(answer, SLACK).query).toEqual({ channel_id: 'G0100000006' });
  });

  it('Slack users: fuzzy search on display name and handle, and user_id lookup', async () => {
    const search = await get(`/v1/integrations/${SLACK}/slack/users?search=grace`);
    const byId = await get(`/v1/integrations/${SLACK}/slack/users?user_id=W0100000005`);
    const unknown = await get(`/v1/integrations/${SLACK}/slack/users?user_id=U0999999999`);
    const user = (id: string) => SLACK_USERS.find((u) => u.id === id);

    expect(search.json.users).toEqual([user('U0100000002')]);
    expect(byId.json).toEqual({ users: [user('W0100000005')] });
    expect(unknown.json).toEqual({ users: [] });
  });

  it('GitHub repos: search on full_name with a page of two', async () => {
    const answer = await get(`/v1/integrations/${GITHUB}/github/repos?search=app&limit=2`);

    expect(answer.json).toEqual({
      repositories: [GITHUB_REPOSITORIES[2], GITHUB_REPOSITORIES[5]],
      has_more: false,
      total: 2,
    });
    expect(helperCall(answer, GITHUB).query).toEqual({ search: 'app', limit: '2' });
  });

  it('GitHub teams and branches: the caps PostHog allows (500, 1000) pass', async () => {
    const teams = await get(`/v1/integrations/${GITHUB}/github/teams?search=squad&limit=500`);
    const branches = await get(
      `/v1/integrations/${GITHUB}/github/branches?repo=acme-inc/posthog-bff&search=feature&limit=1000&offset=1`,
    );

    expect(teams.json).toEqual({ teams: [GITHUB_TEAMS[1]], has_more: false });
    expect(branches.json).toEqual({
      branches: ['feature/typed-client'],
      default_branch: 'main',
      has_more: false,
    });
  });
});

describe('writes', () => {
  it('POST .../github/repos/refresh sends {} and invalidates cached integration reads', async () => {
    const path = `/v1/integrations/${GITHUB}/github/repos`;
    await get(path);
    stack().fake.clearRequests();

    const answer = await post(`${path}/refresh`);

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      repositories: GITHUB_REPOSITORIES,
      installation_status: 'connected',
    });
    // The kind comes from the integration read cached by the GET above.
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({
      method: 'POST',
      path: `${PROJECT}/${GITHUB}/github_repos/refresh/`,
    });
    expect(call.body).toEqual({});
    expect((await get(path)).headers.get('x-cache')).toBe('MISS');
  });

  it('POST /v1/integrations/github/prepare-callback sends the body as sent and answers 204', async () => {
    const body = { installation_id: '51234567', next: '/project/1/settings/integrations' };

    const answer = await post('/v1/integrations/github/prepare-callback', body);

    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${PROJECT}/github/prepare_callback/` });
    expect(call.body).toEqual(body);
  });

  it('prepare-callback reads an empty body as {}', async () => {
    const answer = await stack().client.call('POST', '/v1/integrations/github/prepare-callback');

    expect(answer.status).toBe(204);
    expect(onlyUpstreamCall(stack(), answer).body).toEqual({});
  });
});

describe('bad input: 400 naming the field, before any upstream call', () => {
  const long = 'x'.repeat(201);
  it.each([
    [`/v1/integrations/${SLACK}/slack/channels?limit=0`, 'limit'],
    [`/v1/integrations/${SLACK}/slack/channels?limit=201`, 'limit'],
    [`/v1/integrations/${SLACK}/slack/channels?limit=1e2`, 'limit'],
    [`/v1/integrations/${SLACK}/slack/channels?offset=-1`, 'offset'],
    [`/v1/integrations/${SLACK}/slack/channels?offset=abc`, 'offset'],
    [`/v1/integrations/${SLACK}/slack/channels?search=${long}`, 'search'],
    [`/v1/integrations/${SLACK}/slack/channels?search=a&search=b`, 'search'],
    [`/v1/integrations/${SLACK}/slack/channels?channel_id=general`, 'channel_id'],
    [`/v1/integrations/${SLACK}/slack/channels?channel_id=U0100000001`, 'channel_id'],
    [`/v1/integrations/${SLACK}/slack/channels?user_id=U0100000001`, 'user_id'],
    [`/v1/integrations/${SLACK}/slack/channels?force_refresh=true`, 'force_refresh'],
    [`/v1/integrations/${SLACK}/slack/users?limit=201`, 'limit'],
    [`/v1/integrations/${SLACK}/slack/users?user_id=C0100000001`, 'user_id'],
    [`/v1/integrations/${SLACK}/slack/users?user_id=u01`, 'user_id'],
    [`/v1/integrations/${SLACK}/slack/users?search=${long}`, 'search'],
    [`/v1/integrations/${GITHUB}/github/repos?limit=501`, 'limit'],
    [`/v1/integrations/${GITHUB}/github/repos?offset=1.5`, 'offset'],
    [`/v1/integrations/${GITHUB}/github/repos?repo=acme-inc/web-app`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/teams?limit=501`, 'limit'],
    [`/v1/integrations/${GITHUB}/github/teams?search=${long}`, 'search'],
    [`/v1/integrations/${GITHUB}/github/branches`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=web-app`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=acme/web/app`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=../web-app`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=acme/..`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=acme/web%20app`, 'repo'],
    [`/v1/integrations/${GITHUB}/github/branches?repo=a/b&limit=1001`, 'limit'],
    [`/v1/integrations/${JIRA}/jira/projects?limit=10`, 'limit'],
    ['/v1/integrations/github/installations?installation_id=1', 'installation_id'],
  ])('GET %s names %s', async (path, field) => {
    const answer = await get(path);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it.each([
    ['slack/channels'],
    ['slack/users'],
    ['github/repos'],
    ['github/teams'],
    ['github/branches?repo=a/b'],
    ['jira/projects'],
  ])('GET /v1/integrations/:id/%s refuses malformed ids', async (route) => {
    for (const id of ['abc', '0', '-1', '1e3', '9'.repeat(10_000)]) {
      expectProblem(await get(`/v1/integrations/${id}/${route}`), 400, 'validation', {
        fields: ['id'],
      });
    }
    expect(stack().fake.requests).toHaveLength(0);
  });

  it.each([
    [{ next: 'https://evil.example' }, 'next'],
    [{ next: '//evil.example' }, 'next'],
    [{ next: 'settings' }, 'next'],
    [{ installation_id: 'abc' }, 'installation_id'],
    [{ installation_id: '0123' }, 'installation_id'],
    [{ installation_id: null }, 'installation_id'],
    [{ next: null }, 'next'],
    [{ state: 'x' }, 'state'],
  ])('POST prepare-callback with %j names %s', async (body, field) => {
    expectProblem(await post('/v1/integrations/github/prepare-callback', body), 400, 'validation', {
      fields: [field],
    });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('POST .../github/repos/refresh takes no body fields', async () => {
    const answer = await post(`/v1/integrations/${GITHUB}/github/repos/refresh`, { force: true });

    expectProblem(answer, 400, 'validation', { fields: ['force'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('an integration of another kind: 400 kind-mismatch, no helper call', () => {
  it.each([
    ['GET', `/v1/integrations/${GITHUB}/slack/channels`, GITHUB, 'github', 'slack'],
    ['GET', `/v1/integrations/${GITHUB}/slack/users`, GITHUB, 'github', 'slack'],
    ['GET', `/v1/integrations/${SLACK}/github/repos`, SLACK, 'slack', 'github'],
    ['POST', `/v1/integrations/${JIRA}/github/repos/refresh`, JIRA, 'jira', 'github'],
    [
      'GET',
      `/v1/integrations/${SLACK}/github/branches?repo=acme-inc/posthog-bff`,
      SLACK,
      'slack',
      'github',
    ],
    // PostHog itself answers this one with a 500 (GitHubIntegration refuses another kind).
    ['GET', `/v1/integrations/${JIRA}/github/teams`, JIRA, 'jira', 'github'],
    ['GET', `/v1/integrations/${SLACK}/jira/projects`, SLACK, 'slack', 'jira'],
  ])('%s %s', async (method, path, id, actual, needed) => {
    const answer = await stack().client.call(method, path, {
      body: method === 'POST' ? {} : undefined,
    });

    expectProblem(answer, 400, 'integration-kind-mismatch', { fields: ['id'] });
    expect(answer.json.detail).toBe(
      `Integration ${id} is of kind ${actual}; this route needs an integration of kind ${needed}.`,
    );
    expect(onlyUpstreamCall(stack(), answer)).toMatchObject({
      method: 'GET',
      path: `${PROJECT}/${id}/`,
    });
  });

  it('reads the kind from the cached integration: a second wrong-kind call reaches nothing', async () => {
    await get(`/v1/integrations/${GITHUB}/slack/channels`);
    const again = await get(`/v1/integrations/${GITHUB}/slack/users`);

    expectProblem(again, 400, 'integration-kind-mismatch', { fields: ['id'] });
    expect(stack().fake.requests).toHaveLength(1);
  });

  it('answers 404 for an integration PostHog does not know', async () => {
    expectProblem(await get('/v1/integrations/999/slack/channels'), 404, 'not-found');
  });
});

describe('scopes', () => {
  it('a caller without integration:read gets 403 on the reads, without integration:write on the writes', async () => {
    const token = 'caller-orgonly-token-51c0ffee';
    const other = await startStack({
      BFF_CLIENTS: JSON.stringify([
        {
          id: 'org-only',
          token_sha256: createHash('sha256').update(token).digest('hex'),
          scopes: ['organization:read'],
        },
      ]),
    });
    try {
      const headers = { authorization: `Bearer ${token}` };
      for (const path of [
        `/v1/integrations/${SLACK}/slack/channels`,
        `/v1/integrations/${SLACK}/slack/users`,
        `/v1/integrations/${GITHUB}/github/repos`,
        `/v1/integrations/${GITHUB}/github/branches?repo=a/b`,
        `/v1/integrations/${GITHUB}/github/teams`,
        '/v1/integrations/github/installations',
        `/v1/integrations/${JIRA}/jira/projects`,
      ]) {
        expectProblem(await other.client.get(path, { as: null, headers }), 403, 'forbidden');
      }
      for (const path of [
        `/v1/integrations/${GITHUB}/github/repos/refresh`,
        '/v1/integrations/github/prepare-callback',
      ]) {
        const answer = await other.client.call('POST', path, { as: null, headers, body: {} });
        expectProblem(answer, 403, 'forbidden');
      }
      expect(other.fake.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('the reader (integration:read only) cannot refresh or prepare a callback', async () => {
    for (const path of [
      `/v1/integrations/${GITHUB}/github/repos/refresh`,
      '/v1/integrations/github/prepare-callback',
    ]) {
      const answer = await stack().client.call('POST', path, { as: 'reader', body: {} });
      expectProblem(answer, 403, 'forbidden');
    }
    expect(stack().fake.requests).toHaveLength(0);
  });
});
