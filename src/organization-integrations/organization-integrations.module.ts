import { Module } from '@nestjs/common';
import { OrganizationIntegrationsController } from './organization-integrations.controller';

@Module({ controllers: [OrganizationIntegrationsController] })
export class OrganizationIntegrationsModule {}
