import { Global, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ResponseCacheModule } from '../cache/response-cache.module';
import { UpstreamModule } from '../upstream/upstream.module';
import { ProxyService } from './proxy.service';

/** The shared layer every resource module's controller hands its validated input to. */
@Global()
@Module({
  imports: [AuthModule, AuditModule, UpstreamModule, ResponseCacheModule],
  providers: [ProxyService],
  exports: [ProxyService, AuthModule, ResponseCacheModule],
})
export class ProxyModule {}
