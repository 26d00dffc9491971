import {
  type ArgumentMetadata,
  type ValidationError,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { type FieldError, Problem } from './problem';
import { isNullable } from './validators';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function invalid(all: FieldError[]): Problem {
  const seen = new Set<string>();
  const fields = all.filter(
    (f) => !seen.has(`${f.field}\n${f.message}`) && seen.add(`${f.field}\n${f.message}`),
  );
  const names = [...new Set(fields.map((f) => f.field))].join(', ');
  return Problem.badRequest(`Invalid request: ${names}.`, fields);
}

/** The property names a DTO declares (every declared property carries a class-validator rule). */
// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
function declaredFields(dto: Function): Set<string> {
  const rules = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return new Set(rules.map((rule) => rule.propertyName));
}

/**
 * The rules no DTO can forget, checked on the raw input before class-transformer sees it:
 * - every own key must be a declared field. class-transformer silently skips keys that name a
 *   function of the instance (constructor, toString, valueOf, hasOwnProperty...), so the
 *   whitelist alone never saw them;
 * - optional means "may be absent", never null: null is refused unless the field is @Nullable()
 *   (class-validator's @IsOptional() would let it through to PostHog).
 */
// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
export function contractErrors(value: object, dto: Function): FieldError[] {
  const declared = declaredFields(dto);
  const errors: FieldError[] = [];
  for (const key of Object.keys(value)) {
    if (!declared.has(key)) {
      errors.push({ field: key, message: `property ${key} should not exist` });
    } else if ((value as Record<string, unknown>)[key] === null && !isNullable(dto, key)) {
      errors.push({ field: key, message: `${key} must not be null` });
    }
  }
  return errors;
}

/**
 * Path ids, queries and bodies are validated by their DTOs: unknown fields and nulls are refused
 * (contractErrors), values are converted to their declared types, and every failure names its
 * field in errors[].
 */
class ContractValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype;
    if (dto && this.toValidate(metadata) && typeof value === 'object' && value !== null) {
      const errors = contractErrors(value, dto);
      if (errors.length > 0) throw invalid(errors);
    }
    return super.transform(value, metadata);
  }
}

export function validationPipe(): ValidationPipe {
  const options: ValidationPipeOptions = {
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => invalid(flatten(errors)),
  };
  return new ContractValidationPipe(options);
}
