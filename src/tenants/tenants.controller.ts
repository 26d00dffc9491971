import { Controller, Get, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type { CallerConfig } from '../auth/callers-config';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiResponse,
  ApiSchema,
} from '../docs/api-decorators';
import { problem, REQUEST_ID_HEADER } from '../docs/problem.schema';
import { refuseUndeclaredQuery } from '../proxy/proxy.service';
import type { ProxyRoute } from '../routes/route';
import { TenantRegistry } from './tenant-registry';

/** Admitted by the edge like every /v1 route; any authenticated caller (no scope). */
export const TENANTS_ROUTE: ProxyRoute = {
  method: 'GET',
  path: '/v1/tenants',
  upstream: '',
  summary: 'The tenants (PostHog projects) this caller may use, its default first',
};

@ApiSchema({ name: 'TenantItem', description: 'A tenant this caller may use.' })
class TenantItemSchema {
  @ApiProperty({ example: 'web', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }) name: string;
  @ApiProperty({ description: 'Whether /v1/... without a tenant prefix goes to it.' })
  default: boolean;
}

@ApiSchema({ name: 'TenantList', description: "The caller's tenants, never hosts, ids or keys." })
class TenantListSchema {
  @ApiProperty({ type: [TenantItemSchema] }) items: TenantItemSchema[];
}

@Controller()
export class TenantsController {
  constructor(private readonly tenants: TenantRegistry) {}

  @Get(TENANTS_ROUTE.path)
  @RouteConfig({ proxy: TENANTS_ROUTE })
  @ApiBearerAuth()
  @ApiOperation({
    summary: TENANTS_ROUTE.summary,
    description:
      'Any authenticated caller. Every other `/v1/<path>` route also answers as ' +
      '`/v1/tenants/{tenant}/<path>` for one of these tenants; `/v1/<path>` means the default one.',
  })
  @ApiResponse({
    status: 200,
    description: "The caller's tenants.",
    type: TenantListSchema,
    headers: REQUEST_ID_HEADER,
  })
  @problem(400, 'A query parameter was sent (this route takes none).')
  @problem(401, 'No or unknown caller token.')
  @problem(403, "The tenant in the path does not exist or is not the caller's.")
  @problem(429, 'Caller over its own limit; see Retry-After.')
  list(@Req() request: FastifyRequest): TenantListSchema {
    refuseUndeclaredQuery({}, request);
    const names = this.tenants.allowed(request.ctx.caller as CallerConfig);
    return { items: names.map((name, i) => ({ name, default: i === 0 })) };
  }
}
