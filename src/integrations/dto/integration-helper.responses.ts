// Success bodies of the Slack, GitHub and Jira helper routes: PostHog's JSON, unchanged. Each class
// mirrors one response serializer of posthog/api/integration.py (named in its comment), so the
// OpenAPI document and the generated client describe the real fields.
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

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

@ApiSchema({ name: 'SlackUser' })
export class SlackUser {
  @ApiProperty({ example: 'U0123ABCD', description: 'Slack user id (mention as <@id>).' })
  id: string;
  @ApiProperty({ example: 'ada' }) name: string;
  @ApiProperty({ example: 'Ada Lovelace' }) real_name: string;
  @ApiProperty({ example: 'Ada' }) display_name: string;
}

/** The users action: workspace members the PostHog Slack app can DM (no bots, no guests). */
@ApiSchema({ name: 'SlackUsers' })
export class SlackUsers {
  @ApiProperty({ type: [SlackUser] }) users: SlackUser[];
  @ApiPropertyOptional({ type: String, nullable: true }) lastRefreshedAt?: string | null;
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
}

/** GitHubReposRefreshResponseSerializer */
@ApiSchema({ name: 'GitHubRepositoriesRefreshed' })
export class GitHubRepositoriesRefreshed {
  @ApiProperty({ type: [GitHubRepository], description: 'The whole refreshed repository cache.' })
  repositories: GitHubRepository[];
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

@ApiSchema({ name: 'GitHubInstallation' })
export class GitHubInstallation {
  @ApiProperty({ example: '51234567' }) installation_id: string;
  @ApiProperty({ type: String, nullable: true, example: 'acme-inc' }) account_name: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Organization' })
  account_type: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The project that linked it; null for an installation not linked to any project.',
  })
  source_team_id: number | null;
}

/** GitHubAvailableInstallationsResponse */
@ApiSchema({ name: 'GitHubInstallations' })
export class GitHubInstallations {
  @ApiProperty({ type: [GitHubInstallation] }) installations: GitHubInstallation[];
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
