import { applyDecorators, type Type } from '@nestjs/common';
import { PROBLEM_TYPES, type ProblemName, problemUri } from '../common/problem-types';
import type { ProxyRoute } from '../routes/route';
import {
  ApiExtension,
  ApiExtraModels,
  ApiProperty,
  ApiResponse,
  ApiSchema,
  getSchemaPath,
} from './api-decorators';

@ApiSchema({ name: 'FieldError', description: 'One invalid field of the request.' })
class FieldErrorSchema {
  @ApiProperty({ example: 'limit' }) field: string;
  @ApiProperty({ example: 'limit must be an integer from 1 to 100' }) message: string;
}

/** The RFC 9457 body of every error (application/problem+json). */
@ApiSchema({ name: 'Problem', description: 'RFC 9457 problem details, the body of every error.' })
export class ProblemSchema {
  @ApiProperty({
    enum: Object.keys(PROBLEM_TYPES).map((name) => problemUri(name as ProblemName)),
    example: '/problems/validation',
    description: 'The stable cause; GET /problems/<name> (no token) describes it.',
  })
  type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ type: 'integer', example: 400 }) status: number;
  @ApiProperty({ example: 'Invalid request: limit.' }) detail: string;
  @ApiProperty({
    example: '4f1c2a9e-8d0b-4c51-9a43-0a4e5e0d7f11',
    description: 'The X-Request-Id of the request; quote it when asking about a failure.',
  })
  request_id: string;
  @ApiProperty({
    type: [FieldErrorSchema],
    description: 'Each invalid field (400); empty for other errors.',
  })
  errors: FieldErrorSchema[];
}

/** The shape of every list read, built from PostHog's {count, next, previous, results}. */
@ApiSchema({ name: 'ListPage', description: 'One page of a list.' })
export class ListPageSchema {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: "PostHog's objects on this page, unchanged.",
  })
  items: object[];
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Objects in the whole list.' })
  total: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 100 }) limit: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 0 }) offset: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 100,
    description: 'The offset of the next page; null on the last page.',
  })
  next_offset: number | null;
}

/** What a redirecting PostHog route answers instead of following the redirect. */
@ApiSchema({ name: 'RedirectUrl', description: 'Where PostHog redirects; not followed.' })
export class RedirectSchema {
  @ApiProperty({ format: 'uri', example: 'https://slack.com/oauth/v2/authorize?client_id=...' })
  redirect_url: string;
}

/** Every model the response decorators refer to by $ref (registered as extraModels). */
export const RESPONSE_MODELS = [ProblemSchema, ListPageSchema, RedirectSchema];

const string = { type: 'string' } as const;
/** On every answer; the BFF's own routes (audit, tenants) document it with their success. */
export const REQUEST_ID_HEADER = {
  'X-Request-Id': {
    description: "The caller's sane X-Request-Id, else a new one; also sent to PostHog.",
    schema: string,
  },
};
const CACHE_HEADER = {
  'X-Cache': {
    description: 'How the cache served this read.',
    schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE', 'BYPASS'] },
  },
};

/** A problem+json answer of a route, with its X-Request-Id (and `headers`). */
export const problem = (status: number, description: string, headers: object = {}) =>
  ApiResponse({
    status,
    description,
    headers: { ...REQUEST_ID_HEADER, ...headers },
    content: {
      'application/problem+json': { schema: { $ref: getSchemaPath(ProblemSchema) } },
    },
  });

/** PostHog's success status: 201 for a POST that invalidates (it adds), unless the route says. */
const successStatus = (route: ProxyRoute) =>
  route.successStatus ?? (route.method === 'POST' && route.invalidates ? 201 : 200);

function successSchema(route: ProxyRoute, answer: Type<unknown> | undefined): object {
  if (route.answer === 'redirect') return { $ref: getSchemaPath(RedirectSchema) };
  if (route.answer === 'list') {
    const page = { $ref: getSchemaPath(ListPageSchema) };
    if (!answer) return page;
    const items = { type: 'array', items: { $ref: getSchemaPath(answer) } };
    return { allOf: [page, { type: 'object', properties: { items } }] };
  }
  if (answer) return { $ref: getSchemaPath(answer) };
  return { type: 'object', additionalProperties: true, description: "PostHog's answer." };
}

function success(route: ProxyRoute, answer: Type<unknown> | undefined): MethodDecorator {
  const headers = { ...REQUEST_ID_HEADER, ...(route.method === 'GET' ? CACHE_HEADER : {}) };
  if (route.method === 'DELETE' || route.answer === 'none') {
    const description = route.method === 'DELETE' ? 'Deleted; no body.' : 'Done; no body.';
    return ApiResponse({ status: 204, description, headers });
  }
  const description =
    route.answer === 'list'
      ? 'One page: {items, total, limit, offset, next_offset}.'
      : route.answer === 'redirect'
        ? "PostHog's redirect target, not followed."
        : "PostHog's JSON, unchanged.";
  const schema = successSchema(route, answer);
  const decorators = [
    ApiResponse({
      status: successStatus(route),
      description,
      headers,
      content: { 'application/json': { schema } },
    }),
  ];
  if (answer) decorators.unshift(ApiExtraModels(answer));
  return applyDecorators(...decorators);
}

/**
 * The responses of one proxied route: its success shape, and every problem+json error it can
 * answer. The caller scope it needs is also stated as `x-required-scope` (OpenAPI 3.0 bearer
 * security cannot carry scopes).
 */
export function ApiProblemResponses(route: ProxyRoute, answer?: Type<unknown>): MethodDecorator {
  const hasBody = route.method === 'POST' || route.method === 'PATCH';
  const organization = route.upstream.includes('{organization}');
  return applyDecorators(
    ApiExtension('x-required-scope', route.scope),
    success(route, answer),
    problem(
      400,
      route.kind
        ? `Bad path id, query or body (errors[] names each field), PostHog refused it, or the integration is not a ${route.kind} integration (\`/problems/integration-kind-mismatch\`).`
        : 'Bad path id, query or body (errors[] names each field), or PostHog refused it.',
    ),
    problem(401, 'No or unknown caller token.', {
      'WWW-Authenticate': { description: 'Always `Bearer`.', schema: string },
    }),
    problem(
      403,
      `The caller lacks the ${route.scope} scope, or the tenant in the path does not exist or is not the caller's (\`/problems/tenant-forbidden\`).`,
    ),
    problem(404, 'Not found upstream.'),
    ...(hasBody
      ? [
          problem(413, 'The body is larger than 1 MiB.'),
          problem(415, 'A body that is not application/json.'),
        ]
      : []),
    problem(
      429,
      route.actionThrottle
        ? "Caller limit, upstream budget, PostHog throttling the key, or PostHog's own throttle of this action (`/problems/upstream-action-throttled`, this request only); see Retry-After."
        : 'Caller limit, upstream budget or PostHog throttling; see Retry-After.',
      {
        'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } },
      },
    ),
    ...(route.method === 'GET'
      ? []
      : [
          problem(
            409,
            "PostHog refused the write (e.g. open invoices); detail is PostHog's reason.",
          ),
        ]),
    problem(
      502,
      route.refusesPersonalKeys
        ? 'PostHog refuses personal API keys on this action (`/problems/upstream-refuses-personal-keys`), rejected the BFF key, failed, is unreachable, or the circuit is open.'
        : 'PostHog rejected the BFF key (`/problems/upstream-credential-rejected`), failed, is unreachable, or the circuit is open.',
    ),
    ...(organization ? [problem(503, 'POSTHOG_ORGANIZATION_ID is not configured.')] : []),
    problem(504, 'PostHog did not answer in time.'),
  );
}
