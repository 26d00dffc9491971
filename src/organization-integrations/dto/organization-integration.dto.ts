import { IsDefined, IsInt, IsOptional, Min } from 'class-validator';
import { QueryInt, UuidId } from '../../common/validators';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';

export class OrganizationIntegrationIdParams {
  @UuidId() id: string;
}

export class PageQuery {
  @QueryInt(1, 100, 'Page size, default 100.') limit?: number;
  @QueryInt(0, 1_000_000_000, 'Items to skip, default 0.') offset?: number;
}

export class EnvironmentMappingBody {
  @ApiProperty({ description: 'PostHog team id for production.' })
  @IsDefined({ message: '$property is required' })
  @IsInt()
  @Min(1)
  production: number;

  @ApiPropertyOptional({ type: Number, description: 'Omitted means the production id.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  preview?: number;

  @ApiPropertyOptional({ type: Number, description: 'Omitted means the production id.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  development?: number;
}
