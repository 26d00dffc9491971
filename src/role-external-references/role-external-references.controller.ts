import { Body, Controller, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ProxyService } from '../proxy/proxy.service';
import { ProxyEndpoint } from '../proxy/proxy-endpoint';
import { ROLE_REFERENCE_ROUTES as R } from '../routes/role-external-references.routes';
import {
  CreateRoleReferenceBody,
  ListRoleReferencesQuery,
  LookupRoleReferenceQuery,
  RoleReferenceIdParams,
} from './dto/role-external-reference.dto';

import {
  RoleExternalReference,
  RoleExternalReferenceLookup,
} from './dto/role-external-reference.responses';

@Controller()
export class RoleExternalReferencesController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list, RoleExternalReference)
  list(@Query() query: ListRoleReferencesQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.create, RoleExternalReference)
  create(@Body() body: CreateRoleReferenceBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.lookup, RoleExternalReferenceLookup)
  lookup(@Query() query: LookupRoleReferenceQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.remove)
  remove(@Param() params: RoleReferenceIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }
}
