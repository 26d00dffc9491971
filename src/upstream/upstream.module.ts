import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { UpstreamClient } from './upstream.client';

// Keep-alive: a hit on PostHog should not pay a TCP + TLS handshake every time.
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 128, maxFreeSockets: 32, timeout: 60_000 };

@Module({
  imports: [
    // A factory, so each app gets agents of its own, which UpstreamClient closes on shutdown.
    HttpModule.registerAsync({
      useFactory: () => ({
        httpAgent: new HttpAgent(AGENT_OPTIONS),
        httpsAgent: new HttpsAgent(AGENT_OPTIONS),
        maxRedirects: 0,
        proxy: false,
      }),
    }),
  ],
  providers: [UpstreamClient],
  exports: [UpstreamClient],
})
export class UpstreamModule {}
