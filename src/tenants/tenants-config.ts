import { IsInt, IsString, Matches, Min } from 'class-validator';
import { readText } from '../common/watched-file';
import { ConfigError } from '../config/config-error';
import { type ListSchema, parseJsonList } from '../config/json-list';
import { ifSet, Origin, Required } from '../config/rules';

/** A tenant's name: also a path segment (`/v1/tenants/:tenant/...`), a metric label, a key part. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** The one tenant of a deployment configured by the POSTHOG_* variables. */
export const DEFAULT_TENANT = 'default';

/** One PostHog project behind the deployment, with the key that reaches it. */
export interface TenantConfig {
  name: string;
  posthog: {
    /** An origin: scheme, host, optional port. */
    host: string;
    projectId: string;
    organizationId?: string;
  };
  /** The personal API key: as configured (POSTHOG_API_KEY), or the file it is read from. */
  apiKey: { value: string } | { file: string };
  ratePerMinute: number;
  ratePerHour: number;
}

const POSITIVE = ifSet('$property must be a positive integer');

/** One entry of BFF_TENANTS_FILE, as written. */
class TenantEntry {
  @Matches(TENANT_NAME, { message: `$property must match ${TENANT_NAME.source}` })
  name: string;

  @Required()
  @Origin()
  posthog_host: string;

  @Required()
  @Matches(/^[1-9]\d{0,18}$/, ifSet('$property must be a positive integer (as a string)'))
  project_id: string;

  @Matches(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    ifSet('$property must be a UUID'),
  )
  organization_id?: string;

  @Required()
  @IsString({ message: '$property must be a file path' })
  api_key_file: string;

  @IsInt(POSITIVE)
  @Min(1, POSITIVE)
  upstream_rate_limit_per_minute?: number;

  @IsInt(POSITIVE)
  @Min(1, POSITIVE)
  upstream_rate_limit_per_hour?: number;
}

/** The budget a tenant gets without limits of its own: the single-project variables'. */
export interface DefaultLimits {
  ratePerMinute: number;
  ratePerHour: number;
}

function tenantList(defaults: DefaultLimits): ListSchema<TenantEntry, TenantConfig> {
  return {
    entry: TenantEntry,
    noun: 'tenants',
    check: (entry, where) =>
      readText(entry.api_key_file)?.trim()
        ? []
        : [`${where}.api_key_file cannot be read or is empty: ${entry.api_key_file}`],
    toValue: (entry) => ({
      name: entry.name,
      posthog: {
        host: new URL(entry.posthog_host).origin,
        projectId: entry.project_id,
        organizationId: entry.organization_id?.toLowerCase(),
      },
      apiKey: { file: entry.api_key_file },
      ratePerMinute: entry.upstream_rate_limit_per_minute ?? defaults.ratePerMinute,
      ratePerHour: entry.upstream_rate_limit_per_hour ?? defaults.ratePerHour,
    }),
    clash: (tenant, before, where) =>
      before.some((other) => other.name === tenant.name)
        ? `${where}.name "${tenant.name}" is listed twice`
        : undefined,
  };
}

/**
 * The tenants of BFF_TENANTS_FILE's content (undefined: the file could not be read), at start-up
 * and for every re-read. Throws a ConfigError listing every problem.
 */
export function parseTenantsFile(
  content: string | undefined,
  path: string,
  defaults: DefaultLimits,
): TenantConfig[] {
  if (content === undefined) throw new ConfigError(`BFF_TENANTS_FILE cannot be read: ${path}`);
  return parseJsonList(content, 'BFF_TENANTS_FILE', tenantList(defaults));
}
