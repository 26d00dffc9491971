import { Body, Controller, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ProxyService } from '../proxy/proxy.service';
import { ProxyEndpoint } from '../proxy/proxy-endpoint';
import { ORGANIZATION_INTEGRATION_ROUTES as R } from '../routes/organization-integrations.routes';
import {
  EnvironmentMappingBody,
  OrganizationIntegrationIdParams,
  PageQuery,
} from './dto/organization-integration.dto';

import { OrganizationIntegration } from './dto/organization-integration.responses';

@Controller()
export class OrganizationIntegrationsController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list, OrganizationIntegration)
  list(@Query() query: PageQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.get, OrganizationIntegration)
  get(@Param() params: OrganizationIntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.remove)
  remove(@Param() params: OrganizationIntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.environmentMapping, OrganizationIntegration)
  environmentMapping(
    @Param() params: OrganizationIntegrationIdParams,
    @Body() body: EnvironmentMappingBody,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, body }, res);
  }
}
