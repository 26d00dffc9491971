// Success bodies of the Slack, GitHub and Jira helper routes: PostHog's JSON, unchanged. Each class
// mirrors one response serializer of posthog/api/integration.py (named in its comment), so the
// OpenAPI document and the generated client describe the real fields.
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '../../docs/api-decorators';

/** SlackChannelSerializer */
@ApiSchema({ name: 'SlackChannel' })
export class SlackChannel {
  @ApiProperty({ example: 'C0123ABCD', description: 'Slack channel id.' }) id: string;
  @ApiProperty({ example: 'alerts', description: "Name without the leading '#'." }) name: string;
  @ApiProperty() is_private: boolean;
  @ApiProperty({ description: 'The PostHog Slack app is a member and can post.' })
  is_member: boolean;
  @ApiProperty({ description: 'Shared with another Slack workspace.' }) is_ext_shared: boolean;
  @ApiProperty({ description: 'Private, and the PostHog Slack app cannot access it.' })
  is_private_without_access: boolean;
}

/** SlackChannelsResponseSerializer; a channel_id lookup answers {channels} only. */
@ApiSchema({ name: 'SlackChannels' })
export class SlackChannels {
  @ApiProperty({ type: [SlackChannel] }) channels: SlackChannel[];
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      "When PostHog last listed the workspace's channels (absent on channel_id lookups).",
  })
  lastRefreshedAt?: string | null;
  @ApiPropertyOptional({ description: 'More channels match beyond this page.' })
  has_more?: boolean;
}

/** SlackUserSerializer: these three fields and nothing else (_serialize_slack_user). */
@ApiSchema({ name: 'SlackUser' })
export class SlackUser {
  @ApiProperty({ example: 'U0123ABCD', description: 'Slack user id (mention as <@id>).' })
  id: string;
  @ApiProperty({ example: 'ada', description: 'Slack handle.' }) name: string;
  @ApiProperty({
    example: 'Ada',
    description: "The member's display name, else real name, else handle.",
  })
  display_name: string;
}

/**
 * SlackUsersResponseSerializer: workspace members the PostHog Slack app can DM (no bots, guests,
 * deleted users, Slackbot or other workspaces' members), sorted by display_name; a user_id lookup
 * answers {users} only.
 */
@ApiSchema({ name: 'SlackUsers' })
export class SlackUsers {
  @ApiProperty({ type: [SlackUser] }) users: SlackUser[];
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: "When PostHog last listed the workspace's members (absent on user_id lookups).",
  })
  lastRefreshedAt?: string | null;
  @ApiPropertyOptional({ description: 'More members match beyond this page.' })
  has_more?: boolean;
}

/** GitHubRepoSerializer */
@ApiSchema({ name: 'GitHubRepository' })
export class GitHubRepository {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ example: 'web-app' }) name: string;
  @ApiProperty({ example: 'acme-inc/web-app' }) full_name: string;
  @ApiPropertyOptional() private?: boolean;
  @ApiPropertyOptional({ example: 'main' }) default_branch?: string;
  @ApiPropertyOptional({ example: 'TypeScript' }) language?: string;
  @ApiPropertyOptional({ description: 'ISO 8601 time of the latest push.' }) pushed_at?: string;
  @ApiPropertyOptional() archived?: boolean;
  @ApiPropertyOptional({ description: 'The PostHog GitHub App can open pull requests.' })
  can_push?: boolean;
}

/** GitHubReposResponseSerializer */
@ApiSchema({ name: 'GitHubRepositories' })
export class GitHubRepositories {
  @ApiProperty({ type: [GitHubRepository] }) repositories: GitHubRepository[];
  @ApiProperty({ description: 'More repositories match beyond this page.' }) has_more: boolean;
  @ApiProperty({
    type: 'integer',
    description: 'Repositories matching the search, across all pages.',
  })
  total: number;
}

/** GitHubReposRefreshResponseSerializer */
@ApiSchema({ name: 'GitHubRepositoriesRefreshed' })
export class GitHubRepositoriesRefreshed {
  @ApiProperty({ type: [GitHubRepository], description: 'The whole refreshed repository cache.' })
  repositories: GitHubRepository[];
  @ApiProperty({
    enum: ['connected', 'unavailable'],
    description:
      '`unavailable`: GitHub reports the App uninstalled or suspended; `repositories` is then the last cached list.',
  })
  installation_status: 'connected' | 'unavailable';
}

/** GitHubBranchesResponseSerializer */
@ApiSchema({ name: 'GitHubBranches' })
export class GitHubBranches {
  @ApiProperty({ type: [String], description: 'Branch names, the default branch first.' })
  branches: string[];
  @ApiPropertyOptional({ type: String, nullable: true }) default_branch?: string | null;
  @ApiProperty({ description: 'More branches match beyond this page.' }) has_more: boolean;
}

/** GitHubTeamSerializer */
@ApiSchema({ name: 'GitHubTeam' })
export class GitHubTeam {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ example: 'platform' }) slug: string;
  @ApiProperty({ example: 'Platform' }) name: string;
}

/** GitHubTeamsResponseSerializer */
@ApiSchema({ name: 'GitHubTeams' })
export class GitHubTeams {
  @ApiProperty({ type: [GitHubTeam] }) teams: GitHubTeam[];
  @ApiProperty({ description: 'More teams match beyond this page.' }) has_more: boolean;
}

/** GitHubAvailableInstallationSerializer */
@ApiSchema({ name: 'GitHubInstallation' })
export class GitHubInstallation {
  @ApiProperty({ example: '51234567' }) installation_id: string;
  @ApiProperty({ type: String, nullable: true, example: 'acme-inc' }) account_name: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Organization' })
  account_type: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'The project that linked it; null for an installation seen only through your personal GitHub link.',
  })
  source_team_id: number | null;
  @ApiProperty({ type: String, nullable: true, description: "That project's name." })
  source_team_name: string | null;
}

/**
 * GitHubAvailableInstallationsResponseSerializer. PostHog answers it `Cache-Control: private,
 * no-store`: never cached here (X-Cache: BYPASS).
 */
@ApiSchema({ name: 'GitHubInstallations' })
export class GitHubInstallations {
  @ApiProperty({ type: [GitHubInstallation] }) installations: GitHubInstallation[];
  @ApiProperty({
    format: 'uuid',
    description: 'Pass to POST /v1/integrations/github/link-existing (diagnostics).',
  })
  discovery_id: string;
  @ApiProperty({ format: 'date-time' }) discovered_at: string;
  @ApiProperty({ type: String, nullable: true, description: 'Your personal GitHub login.' })
  personal_github_login: string | null;
  @ApiProperty({
    enum: ['ok', 'not_connected', 'unavailable'],
    description: 'Whether installations seen through your personal GitHub link are included.',
  })
  personal_discovery_status: 'ok' | 'not_connected' | 'unavailable';
  @ApiProperty() personal_github_connected: boolean;
}

/** JiraProjectSerializer */
@ApiSchema({ name: 'JiraProject' })
export class JiraProject {
  @ApiProperty({ example: '10000' }) id: string;
  @ApiProperty({ example: 'OPS' }) key: string;
  @ApiProperty({ example: 'Operations' }) name: string;
}

/** JiraProjectsResponseSerializer */
@ApiSchema({ name: 'JiraProjects' })
export class JiraProjects {
  @ApiProperty({ type: [JiraProject] }) projects: JiraProject[];
}
