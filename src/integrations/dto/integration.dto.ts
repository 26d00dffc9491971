import {
  IsDefined,
  IsFQDN,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsUrl,
  IsUUID,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  BoundedString,
  NoHiddenCharacters,
  Nullable,
  PositiveIntId,
  QueryInt,
  RelativePath,
} from '../../common/validators';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';
import { ApiSchemaRules } from '../../docs/schema-rules';
import { GitHubInstallationId } from './github-installation-id';
import { KindName } from './kind';

const MAX_OFFSET = 1_000_000_000;

export class IntegrationIdParams {
  @PositiveIntId() id: string;
}

export class ListIntegrationsQuery {
  @IsOptional()
  @KindName('Only integrations of this kind.', false)
  kind?: string;

  @QueryInt(1, 100, 'Page size, default 100.') limit?: number;
  @QueryInt(0, MAX_OFFSET, 'Items to skip, default 0.') offset?: number;
}

export class CreateIntegrationBody {
  @KindName() kind: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "The kind's settings, default {}.",
  })
  @ValidateIf((o: CreateIntegrationBody) => o.config !== undefined) // omitted: {}; null: refused
  @IsObject()
  config?: Record<string, unknown>;
}

/** Anthropic helper reads page with an opaque cursor. */
export class CursorQuery {
  @QueryInt(1, 100) limit?: number;

  @ApiPropertyOptional({ description: 'Cursor from the previous page (next_cursor).' })
  @IsOptional()
  @BoundedString(512)
  after?: string;
}

export class ConversionRulesQuery {
  @ApiProperty({ description: 'LinkedIn ad account id (sent to PostHog as accountId).' })
  @BoundedString(64)
  account_id: string;
}

export class AuthorizeQuery {
  @KindName('An OAuth kind, or github (PostHog answers 400 for others).') kind: string;

  @ApiPropertyOptional({ description: 'Relative path to return to after authorizing.' })
  @IsOptional()
  @RelativePath()
  next?: string;
}

export class DomainCheckQuery {
  @ApiProperty({ example: 'example.com' })
  @MaxLength(253)
  // Before the hostname check: IsFQDN lets zero-width and bidi characters through as letters.
  @NoHiddenCharacters()
  @IsFQDN({ require_tld: true }, { message: '$property must be a hostname' })
  domain: string;
}

@ApiSchemaRules({
  oneOf: [
    { properties: { context: { enum: ['email'] } }, required: ['integration_id'] },
    { properties: { context: { enum: ['proxy'] } }, required: ['proxy_record_id'] },
  ],
})
export class ApplyUrlBody {
  @ApiProperty({ enum: ['email', 'proxy'] })
  @IsIn(['email', 'proxy'])
  context: 'email' | 'proxy';

  @ApiPropertyOptional({ description: 'Email integration id; required when context is email.' })
  @ValidateIf((o: ApplyUrlBody) => o.context === 'email' || o.integration_id !== undefined)
  @IsDefined({ message: '$property is required when context is email' })
  @IsInt()
  @Min(1)
  integration_id?: number;

  @ApiPropertyOptional({ description: 'Proxy record id; required when context is proxy.' })
  @ValidateIf((o: ApplyUrlBody) => o.context === 'proxy' || o.proxy_record_id !== undefined)
  @IsDefined({ message: '$property is required when context is proxy' })
  @BoundedString()
  proxy_record_id?: string;

  @ApiPropertyOptional({ format: 'uri' })
  @IsOptional()
  @IsUrl({ require_protocol: true, protocols: ['http', 'https'], require_tld: false })
  @MaxLength(2048)
  redirect_uri?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @BoundedString(2048)
  provider_endpoint?: string;
}

/**
 * GitHubLinkExistingRequestSerializer (posthog/api/integration.py): every field optional and
 * nullable; a blank or null installation_id is no installation id. An empty body links the
 * organization's single GitHub installation.
 */
export class LinkExistingBody {
  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    description: 'The discovery_id of GET /v1/integrations/github/installations (diagnostics).',
  })
  @Nullable()
  @IsUUID('all', { message: '$property must be a UUID' })
  discovery_id?: string | null;

  @ApiPropertyOptional({ type: 'integer', description: 'The project whose installation to link.' })
  @Nullable()
  @IsInt()
  source_team_id?: number | null;

  @GitHubInstallationId({ allowBlank: true, nullable: true })
  installation_id?: string | null;
}

/** GitHubOAuthAuthorizeRequestSerializer, as build_team_oauth_authorize_url checks it. */
export class OAuthAuthorizeBody {
  @GitHubInstallationId({ required: true })
  installation_id: string;

  @ApiPropertyOptional({ description: 'Relative path to return to.' })
  @IsOptional()
  @RelativePath()
  next?: string;

  @ApiPropertyOptional({ enum: ['posthog_code'] })
  @IsOptional()
  @IsIn(['posthog_code'])
  connect_from?: 'posthog_code';
}
