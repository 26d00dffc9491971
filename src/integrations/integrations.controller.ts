import { Body, Controller, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
  list(@Query() query: ListIntegrationsQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.create)
  create(@Body() body: CreateIntegrationBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.authorize)
  authorize(@Query() query: AuthorizeQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.domainConnectApplyUrl)
  applyUrl(@Body() body: ApplyUrlBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.domainConnectCheck)
  domainCheck(@Query() query: DomainCheckQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.githubLinkExisting)
  linkExisting(@Body() body: LinkExistingBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.githubOAuthAuthorize)
  oauthAuthorize(@Body() body: OAuthAuthorizeBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.get)
  get(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.remove)
  remove(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.anthropicAgents)
  anthropicAgents(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.anthropicVaults)
  anthropicVaults(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.anthropicEnvironments)
  anthropicEnvironments(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.linearTeams)
  linearTeams(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.linkedinAccounts)
  linkedinAccounts(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.linkedinConversionRules)
  linkedinConversionRules(
    @Param() params: IntegrationIdParams,
    @Query() query: ConversionRulesQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.twilioPhoneNumbers)
  twilioPhoneNumbers(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }
}
