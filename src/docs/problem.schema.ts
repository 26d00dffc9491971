import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';
import type { ProxyRoute } from '../proxy/proxy-route';

class FieldErrorSchema {
  @ApiProperty({ example: 'limit' }) field: string;
  @ApiProperty({ example: 'limit must not be greater than 100' }) message: string;
}

/** The RFC 9457 body of every error (application/problem+json). */
export class ProblemSchema {
  @ApiProperty({ example: 'about:blank' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'Invalid query' }) detail: string;
  @ApiProperty({ example: '4f1c2a9e-8d0b-4c51-9a43-0a4e5e0d7f11' }) request_id: string;
  @ApiProperty({ type: [FieldErrorSchema] }) errors: FieldErrorSchema[];
}

const problem = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: {
      'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemSchema' } },
    },
  });

export function ApiProblemResponses(route: ProxyRoute): MethodDecorator {
  const success =
    route.method === 'DELETE'
      ? ApiResponse({ status: 204, description: 'Deleted.' })
      : ApiResponse({
          status: route.method === 'POST' ? 201 : 200,
          description:
            route.answer === 'list'
              ? 'A page: {items, total, limit, offset, next_offset}.'
              : route.answer === 'redirect'
                ? 'The authorization URL: {redirect_url}.'
                : "PostHog's JSON, unchanged.",
        });
  return applyDecorators(
    success,
    problem(400, 'Bad path id, query or body (errors[] names each field).'),
    problem(401, 'No or unknown caller token.'),
    problem(403, `Caller lacks scope ${route.scope}.`),
    problem(404, 'Not found upstream.'),
    problem(429, 'Caller limit, upstream budget or PostHog throttling; see Retry-After.'),
    problem(502, 'PostHog failed, is unreachable, refused the key, or the circuit is open.'),
    problem(504, 'PostHog did not answer in time.'),
  );
}
