import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { parseOrRefuse, readText, WatchedFile } from '../common/watched-file';
import { CONFIG, type Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { type CallerConfig, parseCallersFile } from './callers-config';

/**
 * The callers in force: BFF_CLIENTS as configured, or BFF_CLIENTS_FILE as last read (a
 * WatchedFile). A new content that is unreadable or invalid changes nothing and logs one error
 * line (until its content changes).
 */
@Injectable()
export class CallerRegistry implements OnApplicationShutdown {
  private hashes: Array<{ hash: Buffer; caller: CallerConfig }> = [];
  private subjects = new Map<string, CallerConfig>();
  private readonly listeners: Array<() => void> = [];
  private readonly file?: WatchedFile;
  private count = 0;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly logger: AppLogger,
  ) {
    this.use(config.callers);
    if (config.callersFile) {
      const path = config.callersFile;
      this.file = new WatchedFile(path, readText(path), (content) => this.apply(content, path));
      this.file.start();
    }
  }

  /** Called after every change of the callers in force (e.g. to drop verified-token memos). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The caller holding a token with this sha256, comparing against every hash (no early exit). */
  byTokenDigest(digest: Buffer): CallerConfig | undefined {
    let found: CallerConfig | undefined;
    for (const { hash, caller } of this.hashes) {
      if (timingSafeEqual(digest, hash)) found = caller;
    }
    return found;
  }

  bySubject(subject: string): CallerConfig | undefined {
    return this.subjects.get(subject);
  }

  /** Reads BFF_CLIENTS_FILE now (the tests' way to skip the poll's wait). */
  reload(): Promise<void> {
    return this.file?.poll() ?? Promise.resolve();
  }

  /** A new content of BFF_CLIENTS_FILE: a valid one replaces the callers in force. */
  private apply(content: string | undefined, path: string): void {
    const callers = parseOrRefuse(
      () => parseCallersFile(content, path),
      this.logger,
      'BFF_CLIENTS_FILE changed but is refused; the previous callers stay in force',
    );
    if (!callers) return;
    this.use(callers);
    this.logger.info({ callers: this.count }, 'BFF_CLIENTS_FILE re-read: new callers in force');
    for (const listener of this.listeners) listener();
  }

  onApplicationShutdown(): void {
    this.file?.stop();
  }

  private use(callers: CallerConfig[]): void {
    this.count = callers.length;
    this.hashes = callers.flatMap((caller) => caller.tokenSha256.map((hash) => ({ hash, caller })));
    this.subjects = new Map(
      callers.flatMap((caller) => (caller.subject ? [[caller.subject, caller] as const] : [])),
    );
  }
}
