import { Global, Module } from '@nestjs/common';
import { CallerAuth } from '../auth/caller-auth';
import { ResponseCacheModule } from '../cache/response-cache.module';
import { UpstreamModule } from '../upstream/upstream.module';
import { ProxyService } from './proxy.service';

/** The shared layer every resource module's controller hands its validated input to. */
@Global()
@Module({
  imports: [UpstreamModule, ResponseCacheModule],
  providers: [ProxyService, CallerAuth],
  exports: [ProxyService, CallerAuth, ResponseCacheModule],
})
export class ProxyModule {}
