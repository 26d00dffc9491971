import { applyDecorators, Delete, Get, Patch, Post, type Type } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiOperation } from '../docs/api-decorators';
import { ApiProblemResponses } from '../docs/problem.schema';
import type { ActionThrottle, ProxyRoute } from '../routes/route';

const METHODS = { GET: Get, POST: Post, PATCH: Patch, DELETE: Delete };
const REFUSED_NOTE =
  '**PostHog refuses every personal API key on this action today** (scoped, `*` or scope-less): it answers 502 `/problems/upstream-refuses-personal-keys`.';

const throttleNote = (throttle: ActionThrottle) =>
  `PostHog throttles this action on its own (${throttle.limit}): over it, 429 \`/problems/upstream-action-throttled\` for that request only.`;

/**
 * Declares a controller method as a proxied route: HTTP verb + path, route config, docs.
 * `answer` is the class describing PostHog's success body (of each item, for list routes).
 */
export function ProxyEndpoint(route: ProxyRoute, answer?: Type<unknown>): MethodDecorator {
  const cache = route.cache
    ? `Cached (family ${route.cache}; X-Cache HIT/MISS/STALE).`
    : route.invalidates
      ? `Invalidates cached ${route.invalidates} reads on success.`
      : 'Not cached.';
  return applyDecorators(
    METHODS[route.method](route.path),
    RouteConfig({ proxy: route }),
    ApiBearerAuth(),
    ApiOperation({
      summary: route.summary,
      description: `Scope: \`${route.scope}\`. Upstream: \`${route.method} ${route.upstream}\`. ${cache}${
        route.refusesPersonalKeys ? ` ${REFUSED_NOTE}` : ''
      }${route.actionThrottle ? ` ${throttleNote(route.actionThrottle)}` : ''}`,
    }),
    ApiProblemResponses(route, answer),
  );
}
