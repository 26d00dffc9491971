import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

// Only canonical decimal digits become numbers: "1e3", "-1", " 7", "0x10" or a repeated
// parameter (an array) stay as they are and fail @IsInt, naming the field.
const CANONICAL_INT = /^(0|[1-9]\d{0,14})$/;
const toInt = Transform(({ value }) =>
  typeof value === 'string' && CANONICAL_INT.test(value) ? Number(value) : value,
);

/** A project integration id in the path: a positive integer, kept as its canonical string. */
export function PositiveIntId(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ type: String, pattern: '^[1-9][0-9]{0,14}$', example: '1' }),
    Matches(/^[1-9]\d{0,14}$/, { message: '$property must be a positive integer' }),
  );
}

/**
 * An organization-level id in the path (organization integration, role external reference), sent
 * upstream and keyed in the cache in its canonical lower-case form (PostHog treats the case alike).
 */
export function UuidId(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ format: 'uuid' }),
    Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value)),
    IsUUID('all', { message: '$property must be a UUID' }),
  );
}

const NULLABLE = 'bff:nullable';

/**
 * The one marker for a field the contract lets be `null` (API.md: provider_role_slug): optional,
 * and null is accepted and documented. Every other field refuses null (see contractErrors).
 */
export function Nullable(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ nullable: true }),
    IsOptional(),
    (target: object, key: string | symbol) => Reflect.defineMetadata(NULLABLE, true, target, key),
  );
}

// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
export function isNullable(dto: Function, key: string): boolean {
  return Reflect.getMetadata(NULLABLE, dto.prototype, key) === true;
}

/** An optional integer query parameter within [min, max]. */
export function QueryInt(min: number, max: number, description?: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: Number, minimum: min, maximum: max, description }),
    IsOptional(),
    toInt,
    IsInt({ message: '$property must be an integer' }),
    Min(min),
    Max(max),
  );
}

/** A bounded string that is not blank (query or body); documented as minLength 1, pattern \S. */
export function BoundedString(maxLength = 256): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MinLength(1, { message: '$property must not be empty' }),
    Matches(/\S/, { message: '$property must not be empty' }),
    MaxLength(maxLength),
  );
}

/**
 * A path within the PostHog app (e.g. /project/1/settings), never an absolute or scheme-relative
 * URL, so it cannot be used as an open redirect.
 */
export function RelativePath(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MaxLength(2048),
    // "/" alone, or "/" then a character other than "/", "\\" or a space (no lookahead, so the
    // same pattern works in the OpenAPI document and in any JSON Schema validator)
    Matches(/^\/(?:[^/\\\s][^\s\\]*)?$/, {
      message: '$property must be a relative path starting with a single "/"',
    }),
  );
}
