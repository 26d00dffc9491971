import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';
import { AcceptsNull } from '../../common/validators';
import { ApiProperty, ApiPropertyOptional } from '../../docs/api-decorators';

/** is_valid_github_installation_id (posthog/api/github_callback/types.py): [1-9]\d{0,19}. */
const INSTALLATION_ID = '[1-9][0-9]{0,19}';

/**
 * A GitHub installation id in a body, as PostHog reads it: a string of digits, or a JSON integer,
 * which PostHog reads as its string (and which is sent on as that string). `allowBlank`: "" means
 * none (CharField(allow_blank=True)); `nullable`: null too (allow_null=True).
 */
export function GitHubInstallationId({
  required = false,
  allowBlank = false,
  nullable = false,
} = {}): PropertyDecorator {
  const pattern = allowBlank ? `^(?:${INSTALLATION_ID})?$` : `^${INSTALLATION_ID}$`;
  // OpenAPI 3.0 wants `nullable` beside a `type`: on the string branch.
  const doc = {
    oneOf: [
      { type: 'string', pattern, ...(nullable ? { nullable: true } : {}) },
      { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    ],
    example: '51234567',
    description: `GitHub installation id: digits, as a string or an integer${allowBlank ? ' ("" for none)' : ''}${nullable ? ' (null for none)' : ''}.`,
  };
  return applyDecorators(
    required ? ApiProperty(doc) : ApiPropertyOptional(doc),
    required
      ? IsDefined({ message: '$property is required' })
      : nullable
        ? AcceptsNull()
        : IsOptional(),
    Transform(({ value }) =>
      typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value,
    ),
    IsString({ message: '$property must be a GitHub installation id (digits)' }),
    Matches(new RegExp(pattern), {
      message: '$property must be a GitHub installation id (digits, no leading zero)',
    }),
  );
}
