// Queries and bodies of the Slack, GitHub and Jira helper routes (the README's "Calling the service" rules). The
// bounds are PostHog's own (posthog/api/integration.py query serializers), so a value PostHog
// would refuse is refused here first, naming the field, before any upstream call.

import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { QueryInt, RelativePath } from '../../common/validators';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';
import { GitHubInstallationId } from './github-installation-id';

const MAX_OFFSET = 1_000_000_000;
/** One name of owner/name: [A-Za-z0-9_.-]+ but not '.' or '..' (no lookahead: fuzzers read it). */
const PART =
  '(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.[A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.\\.[A-Za-z0-9_.-]+)';
const REPO = new RegExp(`^${PART}/${PART}$`);

class SearchPage {
  @ApiPropertyOptional({ description: 'Case-insensitive search (PostHog matches names and ids).' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @QueryInt(0, MAX_OFFSET, 'Items to skip, default 0.') offset?: number;
}

export class SlackChannelsQuery extends SearchPage {
  @QueryInt(1, 200, 'Channels per page, default 50.') limit?: number;

  @ApiPropertyOptional({
    description: 'One channel by its Slack id; answers {channels: [that channel]} or [].',
    example: 'C0123ABCD',
  })
  @IsOptional()
  @Matches(/^[CGD][A-Z0-9]{2,31}$/, { message: '$property must be a Slack channel id' })
  channel_id?: string;
}

export class SlackUsersQuery extends SearchPage {
  @QueryInt(1, 200, 'Members per page, default 50.') limit?: number;

  @ApiPropertyOptional({
    description: 'One member by its Slack id; answers {users: [that member]} or [].',
    example: 'U0123ABCD',
  })
  @IsOptional()
  @Matches(/^[UW][A-Z0-9]{2,31}$/, { message: '$property must be a Slack user id' })
  user_id?: string;
}

/** GitHub repositories and teams: PostHog's GitHubReposQuerySerializer / GitHubTeamsQuerySerializer. */
export class GitHubPageQuery extends SearchPage {
  @QueryInt(1, 500, 'Items per page, default 100.') limit?: number;
}

export class GitHubBranchesQuery extends SearchPage {
  @ApiProperty({ description: 'The repository, as owner/name.', example: 'acme-inc/web-app' })
  @IsString()
  @MaxLength(200)
  // PostHog's validate_github_repository_name: two [A-Za-z0-9_.-] parts, neither '.' nor '..'.
  @Matches(REPO, { message: '$property must be owner/name' })
  repo: string;

  @QueryInt(1, 1000, 'Branches per page, default 100.') limit?: number;
}

/** A POST whose PostHog action takes no body: an empty JSON object (or no body at all). */
export class EmptyBody {}

/** GitHubPrepareCallbackRequestSerializer: both optional, blank allowed, never null. */
export class PrepareCallbackBody {
  @GitHubInstallationId({ allowBlank: true })
  installation_id?: string;

  @ApiPropertyOptional({
    description: 'Relative path to return to after GitHub setup ("" for none).',
  })
  @IsOptional()
  @RelativePath({ allowBlank: true })
  next?: string;
}
