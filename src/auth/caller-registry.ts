import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config, ConfigError } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { type CallerConfig, parseCallersFile, readText } from './callers-config';

/** How often BFF_CLIENTS_FILE is read for changes (a change applies within 10 s: README, configuration). */
export const CALLERS_FILE_POLL_MS = 2000;

/**
 * The callers in force: BFF_CLIENTS as configured, or BFF_CLIENTS_FILE as last read. The file's
 * content is compared on every poll, not its inode or mtime: a Kubernetes Secret volume swaps a
 * symlink to a new directory, which watchers of the old file never see. A file that is
 * unreadable or invalid changes nothing and logs one error line (until its content changes).
 */
@Injectable()
export class CallerRegistry implements OnApplicationShutdown {
  private hashes: Array<{ hash: Buffer; caller: CallerConfig }> = [];
  private subjects = new Map<string, CallerConfig>();
  private readonly listeners: Array<() => void> = [];
  private readonly timer?: NodeJS.Timeout;
  /** sha256 of the file content last seen (valid or not), so each change is handled once. */
  private seen?: string;
  private reading = false;
  private count = 0;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly logger: AppLogger,
  ) {
    this.use(config.callers);
    if (config.callersFile) {
      this.seen = digestOf(readText(config.callersFile));
      this.timer = setInterval(() => void this.reload(), CALLERS_FILE_POLL_MS);
      this.timer.unref();
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

  /** Reads BFF_CLIENTS_FILE once; a new valid content replaces the callers in force. */
  async reload(): Promise<void> {
    const path = this.config.callersFile;
    if (!path || this.reading) return;
    this.reading = true;
    try {
      let content: string | undefined;
      try {
        content = await readFile(path, 'utf8');
      } catch {
        content = undefined;
      }
      const digest = digestOf(content);
      if (digest === this.seen) return;
      this.seen = digest;
      try {
        this.use(parseCallersFile(content, path));
      } catch (error) {
        const problems = error instanceof ConfigError ? error.problems : [String(error)];
        this.logger.error(
          { problems },
          'BFF_CLIENTS_FILE changed but is refused; the previous callers stay in force',
        );
        return;
      }
      this.logger.info({ callers: this.count }, 'BFF_CLIENTS_FILE re-read: new callers in force');
      for (const listener of this.listeners) listener();
    } finally {
      this.reading = false;
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private use(callers: CallerConfig[]): void {
    this.count = callers.length;
    this.hashes = callers.flatMap((caller) => caller.tokenSha256.map((hash) => ({ hash, caller })));
    this.subjects = new Map(
      callers.flatMap((caller) => (caller.subject ? [[caller.subject, caller] as const] : [])),
    );
  }
}

function digestOf(content: string | undefined): string {
  return content === undefined ? 'unreadable' : createHash('sha256').update(content).digest('hex');
}
