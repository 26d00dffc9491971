import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/config-error';

/** How often watched files are read (a change applies within 10 s: README, configuration). */
export const FILE_POLL_MS = 2000;

/** The file's text, or undefined when it cannot be read. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A file read every FILE_POLL_MS, `changed` called once per new content (undefined: unreadable).
 * The content is compared, not the inode or mtime: a Kubernetes Secret volume swaps a symlink to a
 * new directory, which watchers of the old file never see. What a change means (apply it, or
 * refuse it and keep what is in force) is the owner's.
 */
export class WatchedFile {
  private seen: string;
  private reading = false;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly path: string,
    /** The content read at start-up, already applied. */
    initial: string | undefined,
    private readonly changed: (content: string | undefined) => void | Promise<void>,
  ) {
    this.seen = digestOf(initial);
  }

  start(): this {
    this.timer = setInterval(() => void this.poll(), FILE_POLL_MS);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the file once; a content not seen before is handed to `changed`. */
  async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      let content: string | undefined;
      try {
        content = await readFile(this.path, 'utf8');
      } catch {
        content = undefined;
      }
      const digest = digestOf(content);
      if (digest === this.seen) return;
      this.seen = digest;
      await this.changed(content);
    } finally {
      this.reading = false;
    }
  }
}

/**
 * A changed file's new content, parsed; undefined when `parse` refuses it, after one error line
 * (`refused`, saying what stays in force) naming every problem.
 */
export function parseOrRefuse<T>(
  parse: () => T,
  logger: { error(fields: object, message: string): void },
  refused: string,
): T | undefined {
  try {
    return parse();
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [String(error)];
    logger.error({ problems }, refused);
    return undefined;
  }
}

function digestOf(content: string | undefined): string {
  return content === undefined ? 'unreadable' : createHash('sha256').update(content).digest('hex');
}
