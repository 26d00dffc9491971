import { Controller, Get, Query, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import {
  ApiBearerAuth,
  ApiExtension,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiSchema,
} from '../docs/api-decorators';
import { problem, REQUEST_ID_HEADER } from '../docs/problem.schema';
import { refuseUndeclaredQuery } from '../proxy/proxy.service';
import type { ProxyRoute } from '../routes/route';
import { type AuditPage, AuditTrail } from './audit-trail';
import { AuditQuery } from './dto/audit-query.dto';

/**
 * The route as the edge admits it (caller token, `audit:read` scope, caller limit). Served by the
 * BFF itself from Redis: it has no PostHog path and never reaches PostHog.
 */
export const AUDIT_ROUTE: ProxyRoute = {
  method: 'GET',
  path: '/v1/audit',
  upstream: '',
  scope: 'audit:read',
  summary: 'The audit trail of writes, newest first',
};

@ApiSchema({ name: 'AuditTarget', description: 'What the write acted on (ids and kind only).' })
class AuditTargetSchema {
  @ApiPropertyOptional({ example: '12' }) integration_id?: string;
  @ApiPropertyOptional({ format: 'uuid' }) organization_integration_id?: string;
  @ApiPropertyOptional({ format: 'uuid' }) role_reference_id?: string;
  @ApiPropertyOptional({ example: 'slack' }) kind?: string;
}

@ApiSchema({ name: 'AuditRecord', description: 'One POST/PATCH/DELETE that reached PostHog.' })
class AuditRecordSchema {
  @ApiProperty({ example: '1764302400000-0', description: 'Record id (use as `before`).' })
  id: string;
  @ApiProperty({ format: 'date-time' }) time: string;
  @ApiProperty() request_id: string;
  @ApiPropertyOptional({ example: 'billing' }) caller?: string;
  @ApiPropertyOptional({
    example: 'system:serviceaccount:billing:billing-api',
    description: 'The JWT subject of a service-account caller.',
  })
  subject?: string;
  @ApiProperty({ enum: ['POST', 'PATCH', 'DELETE'] }) method: string;
  @ApiProperty({ example: '/v1/integrations/:id' }) route: string;
  @ApiProperty({ type: AuditTargetSchema }) target: AuditTargetSchema;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: "PostHog's status; null when PostHog did not answer (see upstream_error).",
  })
  upstream_status: number | null;
  @ApiPropertyOptional({
    example: 'timeout',
    description: 'Why PostHog gave no answer: `timeout` or a connection error code.',
  })
  upstream_error?: string;
  @ApiPropertyOptional({ description: 'For a create PostHog accepted: the new id.' })
  created_id?: string;
}

@ApiSchema({ name: 'AuditPage', description: 'One page of audit records, newest first.' })
class AuditPageSchema {
  @ApiProperty({ type: [AuditRecordSchema] }) items: AuditRecordSchema[];
  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `before` for the next (older) page; null on the last page.',
  })
  next_before: string | null;
}

@Controller()
export class AuditController {
  constructor(private readonly trail: AuditTrail) {}

  @Get(AUDIT_ROUTE.path)
  @RouteConfig({ proxy: AUDIT_ROUTE })
  @ApiBearerAuth()
  @ApiExtension('x-required-scope', AUDIT_ROUTE.scope)
  @ApiOperation({
    summary: AUDIT_ROUTE.summary,
    description:
      'Scope: `audit:read`. Every POST/PATCH/DELETE that reached PostHog, as the BFF recorded it: ' +
      'caller, route, target ids, PostHog status, new id. Kept in Redis (the newest ' +
      'AUDIT_MAX_RECORDS); without Redis, 503. Not cached.',
  })
  @ApiResponse({
    status: 200,
    description: 'One page, newest first.',
    type: AuditPageSchema,
    headers: REQUEST_ID_HEADER,
  })
  @problem(400, 'Bad query (errors[] names each field).')
  @problem(401, 'No or unknown caller token.')
  @problem(
    403,
    "The caller lacks the audit:read scope, or the tenant in the path is not the caller's.",
  )
  @problem(429, 'Caller over its own limit; see Retry-After.')
  @problem(503, 'Redis is not configured or not answering.')
  list(@Query() query: AuditQuery, @Req() request: FastifyRequest): Promise<AuditPage> {
    refuseUndeclaredQuery({ query }, request);
    return this.trail.page(query.limit ?? 100, query.before, query.caller);
  }
}
