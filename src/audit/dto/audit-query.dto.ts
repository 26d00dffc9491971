import { IsOptional, IsString, Matches } from 'class-validator';
import { QueryInt } from '../../common/validators';
import { ApiPropertyOptional } from '../../docs/api-decorators';

export class AuditQuery {
  @QueryInt(1, 100, 'Records per page, default 100.') limit?: number;

  @ApiPropertyOptional({
    description: 'Only records older than this one: the `next_before` of the previous page.',
    pattern: '^[0-9]{1,20}-[0-9]{1,20}$',
    example: '1764302400000-0',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,20}-\d{1,20}$/, { message: '$property must be a record id like 1764302400000-0' })
  before?: string;

  @ApiPropertyOptional({ description: 'Only this caller id’s records.', example: 'billing' })
  @IsOptional()
  @IsString()
  @Matches(/^[\w.:-]{1,64}$/, { message: '$property must be a caller id' })
  caller?: string;
}
