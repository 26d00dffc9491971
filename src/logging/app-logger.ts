import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import { CONFIG, type Config } from '../config/config';

export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

// Anything shaped like a credential is masked even if some code path tried to log it.
const CREDENTIAL_PATTERNS = [/phx_[A-Za-z0-9_-]{8,}/g, /Bearer\s+[^\s",]+/gi];

/** Wraps a destination so that no line written through it can carry the key or a token. */
export function scrubbingDestination(
  destination: DestinationStream,
  secrets: string[],
): DestinationStream {
  const literal = secrets.filter((s) => s.length >= 4);
  return {
    write(line: string) {
      let out = line;
      for (const secret of literal)
        if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
      for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, '[REDACTED]');
      destination.write(out);
    },
  };
}

/**
 * The service's JSON logger (pino): the access log, warnings, and NestJS's own messages.
 * Headers are never logged; `authorization` and key-like fields are redacted on top of that.
 */
@Injectable()
export class AppLogger implements LoggerService {
  readonly pino: Logger;

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(LOG_DESTINATION) destination: DestinationStream,
  ) {
    this.pino = pino(
      {
        level: config.logLevel,
        base: { service: 'posthog-bff' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: {
          paths: ['authorization', '*.authorization', 'headers', '*.headers', 'apiKey', '*.apiKey'],
          censor: '[REDACTED]',
        },
      },
      scrubbingDestination(destination, [config.posthog.apiKey]),
    );
  }

  // Our own calls pass (fields, message); NestJS's pass (message, context): both are accepted.
  info(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('info', fieldsOrMessage, messageOrContext);
  }

  log(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('info', fieldsOrMessage, messageOrContext);
  }

  warn(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('warn', fieldsOrMessage, messageOrContext);
  }

  error(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('error', fieldsOrMessage, messageOrContext);
  }

  debug(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('debug', fieldsOrMessage, messageOrContext);
  }

  verbose(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('trace', fieldsOrMessage, messageOrContext);
  }

  private write(level: pino.Level, first: unknown, second?: string): void {
    if (typeof first === 'object' && first !== null) this.pino[level](first, second);
    else this.pino[level]({ context: second }, String(first));
  }
}
