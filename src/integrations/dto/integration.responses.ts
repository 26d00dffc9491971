// Success bodies of the project integration routes: PostHog's JSON, unchanged. Each class mirrors
// PostHog's serializer or view answer (posthog/api/integration.py), named in its comment, so the
// OpenAPI document and the generated client describe the real fields.

import { CREATED_BY } from '../../common/posthog-user.response';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '../../docs/api-decorators';

/** IntegrationSerializer (component IntegrationConfig) */
@ApiSchema({ name: 'Integration' })
export class Integration {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ example: 'slack' }) kind: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The kind's settings." })
  config: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty(CREATED_BY) created_by: Record<string, unknown> | null;
  @ApiProperty({ description: 'Why the integration is broken (e.g. token refresh failed), or "".' })
  errors: string;
  @ApiProperty({ example: 'Acme Inc' }) display_name: string;
  @ApiPropertyOptional({ description: 'Slack: reconnecting can request files:write.' })
  files_write_requestable?: boolean;
  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    description: 'GitHub: shared installation.',
  })
  installation_shared?: boolean | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'GitHub: connected or unavailable.',
  })
  installation_status?: string | null;
}

/** _anthropic_managed_list_response, agents */
@ApiSchema({ name: 'AnthropicAgent' })
export class AnthropicAgent {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: 'integer', nullable: true }) version: number | null;
}

class CursorPage {
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `after` for the next page.' })
  next_cursor: string | null;
  @ApiProperty() has_more: boolean;
}

@ApiSchema({ name: 'AnthropicAgents' })
export class AnthropicAgents extends CursorPage {
  @ApiProperty({ type: [AnthropicAgent] }) agents: AnthropicAgent[];
}

@ApiSchema({ name: 'AnthropicVault' })
export class AnthropicVault {
  @ApiProperty() id: string;
  @ApiProperty() display_name: string;
}

@ApiSchema({ name: 'AnthropicVaults' })
export class AnthropicVaults extends CursorPage {
  @ApiProperty({ type: [AnthropicVault] }) vaults: AnthropicVault[];
}

@ApiSchema({ name: 'AnthropicEnvironment' })
export class AnthropicEnvironment {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

@ApiSchema({ name: 'AnthropicEnvironments' })
export class AnthropicEnvironments extends CursorPage {
  @ApiProperty({ type: [AnthropicEnvironment] }) environments: AnthropicEnvironment[];
}

/** LinearTeamSerializer */
@ApiSchema({ name: 'LinearTeam' })
export class LinearTeam {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

/** LinearTeamsResponseSerializer */
@ApiSchema({ name: 'LinearTeams' })
export class LinearTeams {
  @ApiProperty({ type: [LinearTeam] }) teams: LinearTeam[];
}

@ApiSchema({ name: 'LinkedInAdAccount' })
export class LinkedInAdAccount {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'urn:li:organization:1000001' }) reference: string;
}

/** linkedin_ad_accounts: {adAccounts} */
@ApiSchema({ name: 'LinkedInAdAccounts' })
export class LinkedInAdAccounts {
  @ApiProperty({ type: [LinkedInAdAccount] }) adAccounts: LinkedInAdAccount[];
}

@ApiSchema({ name: 'LinkedInConversionRule' })
export class LinkedInConversionRule {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty() name: string;
}

/** linkedin_ad_conversion_rules: {conversionRules} */
@ApiSchema({ name: 'LinkedInConversionRules' })
export class LinkedInConversionRules {
  @ApiProperty({ type: [LinkedInConversionRule] }) conversionRules: LinkedInConversionRule[];
}

@ApiSchema({ name: 'TwilioPhoneNumber' })
export class TwilioPhoneNumber {
  @ApiProperty({ example: 'PN00000000000000000000000000000001' }) sid: string;
  @ApiProperty({ example: '+14155550100' }) phone_number: string;
  @ApiProperty() friendly_name: string;
}

/** twilio_phone_numbers: {phone_numbers, lastRefreshedAt} */
@ApiSchema({ name: 'TwilioPhoneNumbers' })
export class TwilioPhoneNumbers {
  @ApiProperty({ type: [TwilioPhoneNumber] }) phone_numbers: TwilioPhoneNumber[];
  @ApiProperty({ description: 'When PostHog last listed the account (cached one hour).' })
  lastRefreshedAt: string;
}

/** get_available_providers (posthog/domain_connect.py): PostHog's allow-list. */
@ApiSchema({ name: 'DomainConnectProvider' })
export class DomainConnectProvider {
  @ApiProperty({
    example: 'api.cloudflare.com/client/v4/dns/domainconnect',
    description:
      'Host and path of the provider, without a scheme; pass as provider_endpoint to apply-url.',
  })
  endpoint: string;
  @ApiProperty({ example: 'Cloudflare' }) name: string;
}

/** domain_connect_check */
@ApiSchema({ name: 'DomainConnectCheck' })
export class DomainConnectCheck {
  @ApiProperty() supported: boolean;
  @ApiProperty({ type: String, nullable: true }) provider_name: string | null;
  @ApiProperty({
    type: [DomainConnectProvider],
    description: 'Providers to choose from when the domain is not supported; [] when it is.',
  })
  available_providers: DomainConnectProvider[];
}

/** domain_connect_apply_url: {url} */
@ApiSchema({ name: 'DomainConnectApplyUrl' })
export class DomainConnectApplyUrl {
  @ApiProperty({ format: 'uri', description: 'Send the person here to approve the DNS records.' })
  url: string;
}

/** GitHubOAuthAuthorizeResponseSerializer */
@ApiSchema({ name: 'GitHubOAuthUrl' })
export class GitHubOAuthUrl {
  @ApiProperty({ format: 'uri', description: 'GitHub user OAuth URL to redirect to.' })
  oauth_url: string;
}
