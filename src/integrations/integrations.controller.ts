import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProxyService } from '../proxy/proxy.service';
import { ProxyEndpoint } from '../proxy/proxy-endpoint';
import { INTEGRATION_ROUTES as R } from '../routes/integrations.routes';
import {
  ApplyUrlBody,
  AuthorizeQuery,
  ConversionRulesQuery,
  CreateIntegrationBody,
  CursorQuery,
  DomainCheckQuery,
  IntegrationIdParams,
  LinkExistingBody,
  ListIntegrationsQuery,
  OAuthAuthorizeBody,
} from './dto/integration.dto';

@Controller()
export class IntegrationsController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list)
  list(
    @Query() query: ListIntegrationsQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.create)
  create(
    @Body() body: CreateIntegrationBody,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ body }, req, res);
  }

  @ProxyEndpoint(R.authorize)
  authorize(@Query() query: AuthorizeQuery, @Req() req: FastifyRequest, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.domainConnectApplyUrl)
  applyUrl(@Body() body: ApplyUrlBody, @Req() req: FastifyRequest, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, req, res);
  }

  @ProxyEndpoint(R.domainConnectCheck)
  domainCheck(
    @Query() query: DomainCheckQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ query }, req, res);
  }

  @ProxyEndpoint(R.githubLinkExisting)
  linkExisting(
    @Body() body: LinkExistingBody,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ body }, req, res);
  }

  @ProxyEndpoint(R.githubOAuthAuthorize)
  oauthAuthorize(
    @Body() body: OAuthAuthorizeBody,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ body }, req, res);
  }

  @ProxyEndpoint(R.get)
  get(@Param() params: IntegrationIdParams, @Req() req: FastifyRequest, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.remove)
  remove(
    @Param() params: IntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.anthropicAgents)
  anthropicAgents(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, req, res);
  }

  @ProxyEndpoint(R.anthropicVaults)
  anthropicVaults(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, req, res);
  }

  @ProxyEndpoint(R.anthropicEnvironments)
  anthropicEnvironments(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, req, res);
  }

  @ProxyEndpoint(R.linearTeams)
  linearTeams(
    @Param() params: IntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.linkedinAccounts)
  linkedinAccounts(
    @Param() params: IntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }

  @ProxyEndpoint(R.linkedinConversionRules)
  linkedinConversionRules(
    @Param() params: IntegrationIdParams,
    @Query() query: ConversionRulesQuery,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, req, res);
  }

  @ProxyEndpoint(R.twilioPhoneNumbers)
  twilioPhoneNumbers(
    @Param() params: IntegrationIdParams,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params }, req, res);
  }
}
