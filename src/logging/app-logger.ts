import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import { knownSecrets } from '../common/secrets';
import { CONFIG, type Config } from '../config/config';

export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

// Anything shaped like a credential is masked even if some code path tried to log it.
/** Shorter values would redact ordinary text; real keys and tokens are far longer. */
const MIN_SECRET_LENGTH = 4;
const CREDENTIAL_PATTERNS = [/phx_[A-Za-z0-9_-]{8,}/g, /Bearer\s+[^\s",]+/gi];

/** Wraps a destination so that no line written through it can carry the key or a token. */
export function scrubbingDestination(
  destination: DestinationStream,
  secrets: () => Iterable<string> = knownSecrets,
): DestinationStream {
  return {
    write(line: string) {
      let out = line;
      for (const secret of secrets())
        if (secret.length >= MIN_SECRET_LENGTH && out.includes(secret))
          out = out.split(secret).join('[REDACTED]');
      // Cheap prefilter: most lines hold neither shape, and skip the regex scans.
      if (out.includes('phx_') || /bearer/i.test(out)) {
        for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, '[REDACTED]');
      }
      destination.write(out);
    },
    flush: (done?: () => void) => {
      const flushable = destination as { flush?: (done?: () => void) => void };
      if (flushable.flush) flushable.flush(done);
      else done?.();
    },
  } as DestinationStream;
}

/**
 * Standard output, written in batches of at least 8 KiB and at least every 500 ms: one write
 * per log line cost a cache hit more than the rest of its work (measured: hit throughput nearly
 * halved). Lines are gathered in an array and handed to sonic-boom joined, 64 KiB at a time:
 * sonic-boom appends each write to its pending string and measures it (Buffer.byteLength), which
 * copies the whole pending batch on every line (measured: ~10% of a cache hit). main.ts flushes
 * it on shutdown.
 */
export function batchedStdout(): pino.DestinationStream & { flush(done?: () => void): void } {
  const stdout = pino.destination({ sync: false, minLength: 8 * 1024 });
  let lines: string[] = [];
  let pending = 0;
  const handOver = () => {
    if (lines.length === 0) return;
    const batch = lines.join('');
    lines = [];
    pending = 0;
    stdout.write(batch);
  };
  const flush = (done?: () => void) => {
    handOver();
    stdout.flush(done);
  };
  setInterval(flush, 500).unref();
  return {
    write(line: string) {
      lines.push(line);
      pending += line.length;
      if (pending >= 64 * 1024) handOver();
    },
    flush,
  } as pino.DestinationStream & { flush(done?: () => void): void };
}

const SERVICE = 'posthog-bff';

/**
 * NestJS's start-up chatter (one line per module and per mapped route, and "successfully started"
 * before the port is even bound) is written at debug: at info a start writes one line, `listening`,
 * once the port is bound.
 */
const NEST_START_UP = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** The fields of an access-log line (strings, numbers and flags only). */
export type AccessFields = Record<string, string | number | boolean | undefined>;

/** pino's ISO timestamp, formatted at most once per millisecond (it was 3% of a cache hit). */
function isoTimeOncePerMillisecond(): () => string {
  let last = 0;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

/**
 * The service's JSON logger (pino): the access log, warnings, and NestJS's own messages.
 * Headers are never logged; `authorization` and key-like fields are redacted on top of that.
 */
@Injectable()
export class AppLogger implements LoggerService {
  readonly pino: Logger;
  private readonly destination: DestinationStream;
  private readonly accessLevel: number;
  private readonly time = isoTimeOncePerMillisecond();

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(LOG_DESTINATION) destination: DestinationStream,
  ) {
    this.destination = scrubbingDestination(destination);
    this.pino = pino(
      {
        level: config.logLevel,
        base: { service: SERVICE },
        timestamp: this.time,
        formatters: { level: (label) => ({ level: label }) },
        redact: {
          paths: ['authorization', '*.authorization', 'headers', '*.headers', 'apiKey', '*.apiKey'],
          censor: '[REDACTED]',
        },
      },
      this.destination,
    );
    this.accessLevel = this.pino.levels.values[config.logLevel] ?? Number.POSITIVE_INFINITY;
  }

  /**
   * One access-log line, in the same JSON shape pino writes, serialised by hand: its fields are
   * fixed and flat, and pino's generic path (redaction, serializers) was the largest cost of a
   * cache hit after the socket write. Still goes through the scrubbing destination.
   */
  access(level: 'info' | 'debug', fields: AccessFields): void {
    if (this.pino.levels.values[level] < this.accessLevel) return;
    let line = `{"level":"${level}"${this.time()},"service":"${SERVICE}"`;
    for (const name in fields) {
      const value = fields[name];
      if (value === undefined) continue;
      line += `,"${name}":${typeof value === 'string' ? JSON.stringify(value) : value}`;
    }
    this.destination.write(`${line},"msg":"request"}\n`);
  }

  /**
   * One audit line: the record's own `time` is the line's (one `time`, equal to the stored
   * record's). Records hold ids and kinds only; the line still goes through the scrubbing
   * destination.
   */
  audit(record: { time: string }): void {
    if (this.pino.levels.values.info < this.accessLevel) return;
    const { time, ...fields } = record;
    const rest = JSON.stringify(fields).slice(1, -1);
    this.destination.write(
      `{"level":"info","time":${JSON.stringify(time)},"service":"${SERVICE}"${rest ? `,${rest}` : ''},"msg":"audit"}\n`,
    );
  }

  // Our own calls pass (fields, message); NestJS's pass (message, context): both are accepted.
  info(fieldsOrMessage: unknown, messageOrContext?: string): void {
    this.write('info', fieldsOrMessage, messageOrContext);
  }

  log(fieldsOrMessage: unknown, messageOrContext?: string): void {
    const startUp =
      typeof fieldsOrMessage !== 'object' && NEST_START_UP.has(messageOrContext ?? '');
    this.write(startUp ? 'debug' : 'info', fieldsOrMessage, messageOrContext);
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
