/**
 * `created_by` of PostHog objects: UserBasicSerializer (posthog/api/shared.py), or null. Described
 * inline (not as a $ref) so that null validates: OpenAPI 3.0 cannot make a $ref nullable.
 */
export const CREATED_BY = {
  type: 'object',
  nullable: true,
  description:
    'Who created it (UserBasicSerializer: id, uuid, distinct_id, first_name, last_name, email, ...), or null.',
  additionalProperties: true,
} as const;
