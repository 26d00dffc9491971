import { applyDecorators } from '@nestjs/common';
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
import { ApiProperty, ApiPropertyOptional } from '../docs/api-decorators';

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
 * The one marker for a field the contract lets be `null` (provider_role_slug, link-existing's fields): optional,
 * and null is accepted and documented. Every other field refuses null (see contractErrors).
 */
export function Nullable(): PropertyDecorator {
  return applyDecorators(ApiPropertyOptional({ nullable: true }), AcceptsNull());
}

/** Nullable() without its document part, for a field that documents null itself (oneOf). */
export function AcceptsNull(): PropertyDecorator {
  return applyDecorators(IsOptional(), (target: object, key: string | symbol) =>
    Reflect.defineMetadata(NULLABLE, true, target, key),
  );
}

// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
export function isNullable(dto: Function, key: string): boolean {
  return Reflect.getMetadata(NULLABLE, dto.prototype, key) === true;
}

/** An optional integer query parameter within [min, max]. */
export function QueryInt(min: number, max: number, description?: string): PropertyDecorator {
  // One message for the three checks (errors[] keeps it once): `-1` is not "an integer" to IsInt
  // (it stays text) and "greater than" the bound to Max, which would contradict each other.
  const range = { message: `$property must be an integer from ${min} to ${max}` };
  return applyDecorators(
    ApiPropertyOptional({ type: Number, minimum: min, maximum: max, description }),
    IsOptional(),
    toInt,
    IsInt(range),
    Min(min, range),
    Max(max, range),
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

// "/" alone, or "/" then a character other than "/", "\\" or a space (no lookahead, so the same
// pattern works in the OpenAPI document and in any JSON Schema validator)
const RELATIVE_PATH = '\\/(?:[^/\\\\\\s][^\\s\\\\]*)?';

/**
 * A path within the PostHog app (e.g. /project/1/settings), never an absolute or scheme-relative
 * URL, so it cannot be used as an open redirect. `allowBlank`: "" too (PostHog's
 * CharField(allow_blank=True) reads it as "no path").
 */
export function RelativePath({ allowBlank = false } = {}): PropertyDecorator {
  const pattern = allowBlank ? `^(?:${RELATIVE_PATH})?$` : `^${RELATIVE_PATH}$`;
  return applyDecorators(
    IsString(),
    MaxLength(2048),
    Matches(new RegExp(pattern), {
      message: allowBlank
        ? '$property must be empty or a relative path starting with a single "/"'
        : '$property must be a relative path starting with a single "/"',
    }),
  );
}

/**
 * No control, invisible (format) or bidirectional characters: they look like nothing, or reorder
 * what a person reads, and must not travel to PostHog inside a value (\u0000-\u001F, DEL and C1
 * controls, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks,
 * line/paragraph separators and bidi embeddings and isolates, word joiner and invisible operators,
 * BOM). Spelled as ranges, not \p{...}, so OpenAPI tools and fuzzers read the pattern.
 */
export const NO_HIDDEN_CHARACTERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  /^[^\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF]*$/;

export function NoHiddenCharacters(): PropertyDecorator {
  return Matches(NO_HIDDEN_CHARACTERS, {
    message: '$property must not contain control, invisible or bidirectional characters',
  });
}
