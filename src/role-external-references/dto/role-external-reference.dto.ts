import { IsDefined, IsOptional, IsString, IsUUID, MaxLength, ValidateIf } from 'class-validator';
import { BoundedString, Nullable, QueryInt, UuidId } from '../../common/validators';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';
import { ApiSchemaRules, AT_LEAST_ONE_OF } from '../../docs/schema-rules';

export class RoleReferenceIdParams {
  @UuidId() id: string;
}

export class ListRoleReferencesQuery {
  @QueryInt(1, 100, 'Page size, default 100.') limit?: number;
  @QueryInt(0, 1_000_000_000, 'Items to skip, default 0.') offset?: number;
  @ApiPropertyOptional() @IsOptional() @BoundedString() provider?: string;
  @ApiPropertyOptional() @IsOptional() @BoundedString() provider_organization_id?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  role_id?: string;
}

/**
 * RoleExternalReferenceSerializer, from the model's fields (posthog/models/role_external_reference.py):
 * provider ≤ 32 characters, the others ≤ 255, all required and not blank; the slug optional,
 * nullable and blank allowed.
 */
export class CreateRoleReferenceBody {
  @ApiProperty({ maxLength: 32, example: 'github' }) @BoundedString(32) provider: string;
  @ApiProperty({ maxLength: 255 }) @BoundedString(255) provider_organization_id: string;
  @ApiProperty({ maxLength: 255 }) @BoundedString(255) provider_role_id: string;
  @ApiProperty({ maxLength: 255 }) @BoundedString(255) provider_role_name: string;

  @ApiPropertyOptional({ type: String, maxLength: 255, description: 'Blank or null: no slug.' })
  @Nullable()
  @IsString()
  @MaxLength(255)
  provider_role_slug?: string | null;

  @ApiProperty({ format: 'uuid', description: 'PostHog role id.' })
  @IsUUID('all', { message: '$property must be a UUID' })
  role: string;
}

const NEEDS_ROLE = { message: 'provider_role_id or provider_role_slug is required' };

@ApiSchemaRules({ [AT_LEAST_ONE_OF]: ['provider_role_id', 'provider_role_slug'] })
export class LookupRoleReferenceQuery {
  @ApiProperty() @BoundedString() provider: string;
  @ApiProperty() @BoundedString() provider_organization_id: string;

  @ApiPropertyOptional({ description: 'Required unless provider_role_slug is given.' })
  @ValidateIf(
    (o: LookupRoleReferenceQuery) =>
      o.provider_role_slug === undefined || o.provider_role_id !== undefined,
  )
  @IsDefined(NEEDS_ROLE)
  @BoundedString()
  provider_role_id?: string;

  @ApiPropertyOptional({ description: 'Required unless provider_role_id is given.' })
  @ValidateIf(
    (o: LookupRoleReferenceQuery) =>
      o.provider_role_id === undefined || o.provider_role_slug !== undefined,
  )
  @IsDefined(NEEDS_ROLE)
  @BoundedString()
  provider_role_slug?: string;
}
