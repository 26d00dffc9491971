import { Module } from '@nestjs/common';
import { RoleExternalReferencesController } from './role-external-references.controller';

@Module({ controllers: [RoleExternalReferencesController] })
export class RoleExternalReferencesModule {}
