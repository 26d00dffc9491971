import { Transform } from 'class-transformer';
import { ArrayNotEmpty, IsArray, IsIn, IsInt, Matches, Min } from 'class-validator';
import { readText } from '../common/watched-file';
import { ConfigError } from '../config/config-error';
import { type ListSchema, parseJsonList } from '../config/json-list';
import { ifSet } from '../config/rules';
import { SCOPES, type Scope } from '../routes/scopes';
import { TENANT_NAME } from '../tenants/tenants-config';

/**
 * A caller allowed in, as configured in BFF_CLIENTS: by token (only sha256 hashes are kept; two
 * during a rotation) or by the `sub` of a service-account JWT, never both.
 */
export interface CallerConfig {
  id: string;
  tokenSha256: Buffer[];
  subject?: string;
  scopes: ReadonlySet<Scope>;
  rateLimitPerMinute?: number;
  /** The tenants it may use, the first being its default (every tenant's name is checked). */
  tenants?: readonly string[];
}

const HASHES = ifSet('$property must be 64 hex characters, or a non-empty array of them');
const SCOPE_LIST = { message: '$property must be a non-empty array' };
const POSITIVE = ifSet('$property must be a positive integer');
const TENANTS = ifSet('$property must be a non-empty array of tenant names');

/** One entry of the caller list, as written in BFF_CLIENTS or BFF_CLIENTS_FILE. */
class CallerEntry {
  @Matches(/^[\w.:-]{1,64}$/, { message: '$property must be 1-64 characters of [A-Za-z0-9_.:-]' })
  id: string;

  /** One hash, or several during a rotation. */
  @Transform(({ value }) => [value].flat())
  @ArrayNotEmpty(HASHES)
  @Matches(/^[0-9a-f]{64}$/i, { ...HASHES, each: true })
  token_sha256?: string[];

  @Matches(/^[\x21-\x7e]{1,253}$/, ifSet('$property must be 1-253 printable characters'))
  subject?: string;

  @IsArray(SCOPE_LIST)
  @ArrayNotEmpty(SCOPE_LIST)
  @IsIn(SCOPES, {
    each: true,
    validateIf: (_entry, scopes) => Array.isArray(scopes),
    message: ({ value }) =>
      `$property: unknown scope "${(value as string[]).find((scope) => !SCOPES.includes(scope as Scope))}"`,
  })
  scopes: Scope[];

  @IsInt(POSITIVE)
  @Min(1, POSITIVE)
  rate_limit_per_minute?: number;

  @IsArray(TENANTS)
  @ArrayNotEmpty(TENANTS)
  @Matches(TENANT_NAME, { ...TENANTS, each: true })
  tenants?: string[];
}

/** Exactly one way in: a token (by its hashes) or a JWT subject. */
function checkEntry(entry: CallerEntry, where: string): string[] {
  return (entry.token_sha256 === undefined) === (entry.subject === undefined)
    ? [`${where} needs exactly one of token_sha256 and subject`]
    : [];
}

function toCaller(entry: CallerEntry): CallerConfig {
  return {
    id: entry.id,
    tokenSha256: (entry.token_sha256 ?? []).map((hash) => Buffer.from(hash, 'hex')),
    subject: entry.subject,
    scopes: new Set(entry.scopes),
    rateLimitPerMinute: entry.rate_limit_per_minute,
    tenants: entry.tenants,
  };
}

/**
 * The line naming a caller listed before that has this one's id, one of its hashes or its subject:
 * each must name one caller, or which scopes a token had would depend on the list's order.
 */
function duplicateOf(
  caller: CallerConfig,
  before: CallerConfig[],
  where: string,
): string | undefined {
  for (const other of before) {
    if (other.id === caller.id) return `${where}.id "${caller.id}" is listed twice`;
    if (caller.tokenSha256.some((hash) => other.tokenSha256.some((taken) => taken.equals(hash)))) {
      return `${where}.token_sha256: the same hash is listed for "${other.id}"`;
    }
    if (caller.subject !== undefined && caller.subject === other.subject) {
      return `${where}.subject: the same subject is listed for "${other.id}"`;
    }
  }
  return undefined;
}

const CALLER_LIST: ListSchema<CallerEntry, CallerConfig> = {
  entry: CallerEntry,
  noun: 'callers',
  check: checkEntry,
  toValue: toCaller,
  clash: duplicateOf,
};

/**
 * The callers of a caller list (JSON), from `source` (BFF_CLIENTS or BFF_CLIENTS_FILE), used at
 * start-up and for every re-read of BFF_CLIENTS_FILE. Throws a ConfigError listing every problem.
 */
export function parseCallerList(json: string, source: string): CallerConfig[] {
  return parseJsonList(json, source, CALLER_LIST);
}

/** The callers in BFF_CLIENTS_FILE's content (undefined: the file could not be read). */
export function parseCallersFile(content: string | undefined, path: string): CallerConfig[] {
  if (content === undefined) throw new ConfigError(`BFF_CLIENTS_FILE cannot be read: ${path}`);
  return parseCallerList(content, 'BFF_CLIENTS_FILE');
}

/** The callers at start-up: those of BFF_CLIENTS, or of BFF_CLIENTS_FILE read now. */
export function readCallers(inline?: string, file?: string): CallerConfig[] {
  if (inline !== undefined) return parseCallerList(inline, 'BFF_CLIENTS');
  return file === undefined ? [] : parseCallersFile(readText(file), file);
}
