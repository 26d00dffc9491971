import { Module } from '@nestjs/common';
import { TenantsController } from './tenants.controller';

/** GET /v1/tenants (the registry itself is a core service: every request is for a tenant). */
@Module({ controllers: [TenantsController] })
export class TenantsModule {}
