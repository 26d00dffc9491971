import { CREATED_BY } from '../../common/posthog-user.response';
import { ApiProperty, ApiSchema } from '../../docs/api-decorators';

/** OrganizationIntegrationSerializer (posthog/api/organization_integration.py) */
@ApiSchema({ name: 'OrganizationIntegration' })
export class OrganizationIntegration {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'vercel' }) kind: string;
  @ApiProperty({ type: String, nullable: true }) integration_id: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Never null.' })
  config: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
  @ApiProperty(CREATED_BY) created_by: Record<string, unknown> | null;
}
