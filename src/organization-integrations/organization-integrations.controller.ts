import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProxyService } from '../proxy/proxy.service';
import { ProxyEndpoint } from '../proxy/proxy-endpoint';
import { ORGANIZATION_INTEGRATION_ROUTES as R } from '../routes/organization-integrations.routes';
import {
  EnvironmentMappingBody,
  OrganizationIntegrationIdParams,
  PageQuery,
} from './dto/organization-integration.dto';

@Controller()
export class OrganizationIntegrationsController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list)
  list(@Query() query: PageQuery, @Req() req: FastifyRequest, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.get)
  get(
    @Param() params: OrganizationIntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.remove)
  remove(
    @Param() params: OrganizationIntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.environmentMapping)
  environmentMapping(
    @Param() params: OrganizationIntegrationIdParams,
    @Body() body: EnvironmentMappingBody,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, body }, req, res);
  }
}
