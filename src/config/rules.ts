import { isIP } from 'node:net';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsEmpty,
  IsInt,
  IsPositive,
  Max,
  Min,
  ValidateBy,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';

// The vocabulary of the configuration's schemas (the environment, the caller list). Each rule
// fails with one line naming the variable or field ($property); a value that may hold a secret
// (a URL, a key) is never quoted. class-validator fills "$value" and "$property" into every
// message, including text a rule copies from a value.

type Settings = Record<string, unknown>;
type Message = string | ((args: ValidationArguments) => string);

/** Options of a check made only when the value is there: an absent one is Required's concern. */
export function ifSet(message: Message): ValidationOptions {
  return { message, validateIf: (_settings, value) => value !== undefined };
}

/** A check of its own: `problem` answers the line to report, or undefined when the value is fine. */
export function Rule<T = string, S extends object = Settings>(
  problem: (value: T, name: string, settings: S) => string | undefined,
): PropertyDecorator {
  const ask = ({ value, property, object }: ValidationArguments) =>
    problem(value as T, property, object as S);
  return ValidateBy(
    {
      name: 'rule',
      validator: { validate: (_value, args) => ask(args as ValidationArguments) === undefined },
    },
    ifSet((args) => ask(args) ?? ''),
  );
}

interface Requirement {
  /** Another variable that may stand in for this one. */
  or?: string;
  /** Required only in these settings, named in the message (e.g. "for JWT callers"). */
  when?: { named: string; holds(settings: Settings): boolean };
}

/** Must be set (blank counts as unset). */
export function Required({ or, when }: Requirement = {}): PropertyDecorator {
  return IsDefined({
    validateIf: (settings) =>
      (or === undefined || settings[or] === undefined) && (when?.holds(settings) ?? true),
    message: ({ property }) =>
      [property, or && `(or ${or})`, 'is required', when?.named].filter(Boolean).join(' '),
  });
}

/** An alternative to `other`: setting both is refused. */
export function NotWith(other: string): PropertyDecorator {
  return IsEmpty({
    validateIf: (settings) => settings[other] !== undefined,
    message: ({ property }) => `${other} and ${property}: set only one`,
  });
}

/** A whole number from min to max, in digits ("1e3", "-1" or "10s" are refused, quoted as given). */
export function Int(min: number, max = 2 ** 31): PropertyDecorator {
  const options = ifSet(`$property must be an integer from ${min} to ${max}, got "$value"`);
  return applyDecorators(
    Transform(({ value }) =>
      typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value,
    ),
    IsInt(options),
    Min(min, options),
    Max(max, options),
  );
}

const FLAGS = new Map([
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
]);

/** true or false (or 1 or 0), in any case. */
export function Flag(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => {
      const word = String(value).toLowerCase();
      return FLAGS.get(word) ?? word;
    }),
    IsBoolean(ifSet('$property must be true or false, got "$value"')),
  );
}

/** A number above 0, at most 1. */
export function Fraction(): PropertyDecorator {
  const options = ifSet('$property must be a number in (0, 1]');
  return applyDecorators(
    Transform(({ value }) => Number(value)),
    IsPositive(options),
    Max(1, options),
  );
}

function urlProblem(value: string, name: string, protocols: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} must be a URL`;
  }
  return protocols.includes(url.protocol)
    ? undefined
    : `${name} must use ${protocols.join(' or ')}`;
}

/** A URL with one of these protocols (e.g. 'https:'). */
export function Url(...protocols: string[]): PropertyDecorator {
  return Rule((value, name) => urlProblem(value, name, protocols));
}

/**
 * An http(s) origin: scheme, host, optional port. A path would be prefixed to every path sent
 * there (`https://host/api` makes `/api/api/...`, answered 404), so it is refused.
 */
export function Origin(): PropertyDecorator {
  return Rule((value, name) => {
    const problem = urlProblem(value, name, ['http:', 'https:']);
    if (problem) return problem;
    const url = new URL(value);
    const extra = [
      url.username || url.password ? 'credentials' : '',
      // "$" encoded: class-validator would replace a "$value" in the message with the whole URL
      url.pathname.replace(/\/+$/, '') !== ''
        ? `a path (${url.pathname.replaceAll('$', '%24')})`
        : '',
      url.search ? 'a query' : '',
      url.hash ? 'a fragment' : '',
    ].filter(Boolean);
    return extra.length
      ? `${name} must be an origin (scheme, host, optional port), without ${extra.join(', ')}`
      : undefined;
  });
}

/** An IP address or a host name to bind to. */
export function BindAddress(): PropertyDecorator {
  return Rule((value, name) =>
    isIP(value) !== 0 || /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(value)
      ? undefined
      : `${name} must be an IP address or a host name, got "${value}"`,
  );
}
