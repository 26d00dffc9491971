import { applyDecorators } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';

/**
 * An integration kind name, checked by shape only. Which kinds exist, and which can be created
 * from JSON, is PostHog's to say (its list changes weekly): its own 400 comes back naming `kind`.
 */
export const KIND_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function KindName(
  description = 'An integration kind, e.g. `slack`.',
  required = true,
): PropertyDecorator {
  const doc = { type: String, pattern: KIND_NAME.source, example: 'slack', description };
  return applyDecorators(
    required ? ApiProperty(doc) : ApiPropertyOptional(doc),
    IsString(),
    Matches(KIND_NAME, { message: '$property must be a kind name (a-z, 0-9, -; up to 32)' }),
  );
}
