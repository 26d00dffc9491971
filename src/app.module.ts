import { type DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import type { Config } from './config/config';
import { CoreModule } from './core.module';
import { HealthModule } from './health/health.module';
import { IntegrationsModule } from './integrations/integrations.module';
import { MetricsModule } from './metrics/metrics.module';
import { OrganizationIntegrationsModule } from './organization-integrations/organization-integrations.module';
import { ProblemsModule } from './problems/problems.module';
import { ProxyModule } from './proxy/proxy.module';
import { RoleExternalReferencesModule } from './role-external-references/role-external-references.module';
import { TenantsModule } from './tenants/tenants.module';

@Module({})
export class AppModule {
  static forRoot(config: Config, logDestination: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logDestination),
        ProxyModule,
        IntegrationsModule,
        OrganizationIntegrationsModule,
        RoleExternalReferencesModule,
        HealthModule,
        MetricsModule,
        ProblemsModule,
        TenantsModule,
      ],
    };
  }
}
