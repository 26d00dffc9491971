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
import {
  AnthropicAgents,
  AnthropicEnvironments,
  AnthropicVaults,
  DomainConnectApplyUrl,
  DomainConnectCheck,
  GitHubOAuthUrl,
  Integration,
  LinearTeams,
  LinkedInAdAccounts,
  LinkedInConversionRules,
  TwilioPhoneNumbers,
} from './dto/integration.responses';
import {
  GitHubBranches,
  GitHubInstallations,
  GitHubRepositories,
  GitHubRepositoriesRefreshed,
  GitHubTeams,
  JiraProjects,
  SlackChannels,
  SlackUsers,
} from './dto/integration-helper.responses';
import {
  EmptyBody,
  GitHubBranchesQuery,
  GitHubPageQuery,
  PrepareCallbackBody,
  SlackChannelsQuery,
  SlackUsersQuery,
} from './dto/integration-helpers.dto';

@Controller()
export class IntegrationsController {
  constructor(private readonly proxy: ProxyService) {}

  @ProxyEndpoint(R.list, Integration)
  list(@Query() query: ListIntegrationsQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.create, Integration)
  create(@Body() body: CreateIntegrationBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.authorize)
  authorize(@Query() query: AuthorizeQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.domainConnectApplyUrl, DomainConnectApplyUrl)
  applyUrl(@Body() body: ApplyUrlBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.domainConnectCheck, DomainConnectCheck)
  domainCheck(@Query() query: DomainCheckQuery, @Res() res: FastifyReply) {
    return this.proxy.forward({ query }, res);
  }

  @ProxyEndpoint(R.githubLinkExisting, Integration)
  linkExisting(@Body() body: LinkExistingBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.githubOAuthAuthorize, GitHubOAuthUrl)
  oauthAuthorize(@Body() body: OAuthAuthorizeBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.githubInstallations, GitHubInstallations)
  githubInstallations(@Res() res: FastifyReply) {
    return this.proxy.forward({}, res);
  }

  @ProxyEndpoint(R.githubPrepareCallback)
  githubPrepareCallback(@Body() body: PrepareCallbackBody, @Res() res: FastifyReply) {
    return this.proxy.forward({ body }, res);
  }

  @ProxyEndpoint(R.get, Integration)
  get(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.remove)
  remove(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.anthropicAgents, AnthropicAgents)
  anthropicAgents(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.anthropicVaults, AnthropicVaults)
  anthropicVaults(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.anthropicEnvironments, AnthropicEnvironments)
  anthropicEnvironments(
    @Param() params: IntegrationIdParams,
    @Query() query: CursorQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.linearTeams, LinearTeams)
  linearTeams(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.linkedinAccounts, LinkedInAdAccounts)
  linkedinAccounts(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.linkedinConversionRules, LinkedInConversionRules)
  linkedinConversionRules(
    @Param() params: IntegrationIdParams,
    @Query() query: ConversionRulesQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.twilioPhoneNumbers, TwilioPhoneNumbers)
  twilioPhoneNumbers(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }

  @ProxyEndpoint(R.slackChannels, SlackChannels)
  slackChannels(
    @Param() params: IntegrationIdParams,
    @Query() query: SlackChannelsQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.slackUsers, SlackUsers)
  slackUsers(
    @Param() params: IntegrationIdParams,
    @Query() query: SlackUsersQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.githubRepos, GitHubRepositories)
  githubRepos(
    @Param() params: IntegrationIdParams,
    @Query() query: GitHubPageQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.githubReposRefresh, GitHubRepositoriesRefreshed)
  githubReposRefresh(
    @Param() params: IntegrationIdParams,
    @Body() body: EmptyBody,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, body }, res);
  }

  @ProxyEndpoint(R.githubBranches, GitHubBranches)
  githubBranches(
    @Param() params: IntegrationIdParams,
    @Query() query: GitHubBranchesQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.githubTeams, GitHubTeams)
  githubTeams(
    @Param() params: IntegrationIdParams,
    @Query() query: GitHubPageQuery,
    @Res() res: FastifyReply,
  ) {
    return this.proxy.forward({ params, query }, res);
  }

  @ProxyEndpoint(R.jiraProjects, JiraProjects)
  jiraProjects(@Param() params: IntegrationIdParams, @Res() res: FastifyReply) {
    return this.proxy.forward({ params }, res);
  }
}
