import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
import { BoundedString, PositiveIntId, QueryInt, RelativePath } from '../../common/validators';
import { ApiSchemaRules } from '../../docs/schema-rules';
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

export class LinkExistingBody {
  @ApiPropertyOptional({ format: 'uuid', description: 'Discovery response id (diagnostics).' })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  discovery_id?: string;

  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) source_team_id?: number;
  @ApiPropertyOptional() @IsOptional() @BoundedString() installation_id?: string;
}

export class OAuthAuthorizeBody {
  @ApiProperty({ description: 'GitHub installation id (PostHog: "installation_id is required").' })
  @IsDefined({ message: '$property is required' })
  @BoundedString()
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
