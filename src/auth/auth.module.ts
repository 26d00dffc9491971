import { Module } from '@nestjs/common';
import { CallerAuth } from './caller-auth';
import { CallerRegistry } from './caller-registry';
import { JwtVerifier } from './jwt-verifier';

/** Who the callers are (BFF_CLIENTS, its file, service-account JWTs) and whether they may call. */
@Module({
  providers: [CallerRegistry, JwtVerifier, CallerAuth],
  exports: [CallerAuth, CallerRegistry],
})
export class AuthModule {}
