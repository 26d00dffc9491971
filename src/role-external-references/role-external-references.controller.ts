import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProxyService } from '../proxy/proxy.service';
import { ProxyEndpoint } from '../proxy/proxy-endpoint';
import { ROLE_REFERENCE_ROUTES as R } from '../routes/role-external-references.routes';
import {
  CreateRoleReferenceBody,
  ListRoleReferencesQuery,
  LookupRoleReferenceQuery,
  RoleReferenceIdParams,
} from './dto/role-external-reference.dto';

@Controller()
export class RoleExternalReferencesController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list)
  list(
    @Query() query: ListRoleReferencesQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.create)
  create(
    @Body() body: CreateRoleReferenceBody,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ body }, req, res);
  }

  @ProxyEndpoint(R.lookup)
  lookup(
    @Query() query: LookupRoleReferenceQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.remove)
  remove(
    @Param() params: RoleReferenceIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }
}
