import { CREATED_BY } from '../../common/posthog-user.response';
import { ApiProperty, ApiSchema } from '../../docs/api-decorators';

/** RoleExternalReferenceSerializer (posthog/api/role_external_reference.py) */
@ApiSchema({ name: 'RoleExternalReference' })
export class RoleExternalReference {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'github' }) provider: string;
  @ApiProperty() provider_organization_id: string;
  @ApiProperty() provider_role_id: string;
  @ApiProperty({ type: String, nullable: true }) provider_role_slug: string | null;
  @ApiProperty() provider_role_name: string;
  @ApiProperty({ format: 'uuid', description: 'The PostHog role.' }) role: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty(CREATED_BY) created_by: Record<string, unknown> | null;
}

/** The lookup action: the matching reference, or null. */
@ApiSchema({ name: 'RoleExternalReferenceLookup' })
export class RoleExternalReferenceLookup {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'A RoleExternalReference, or null when none matches.',
  })
  reference: Record<string, unknown> | null;
}
