// The one way a test waits for something that happens on its own time (a log line, a metric, a
// process becoming ready): poll, bounded, and say what never came.
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** How long to keep trying; 5 s unless said. */
  timeoutMs?: number;
  /** The pause between tries; 20 ms unless said. */
  intervalMs?: number;
  /** What was awaited, for the timeout error; a function is called then, to show the last state. */
  message?: string | (() => string);
}

/**
 * Calls `check` until it returns something other than false, undefined or null, and returns that.
 * Throws once `timeoutMs` have passed; an error `check` throws ends the wait at once (a failed
 * assertion is not retried).
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20, message = 'the condition' }: EventuallyOptions = {},
): Promise<Exclude<T, false | undefined | null>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== false && result !== undefined && result !== null) {
      return result as Exclude<T, false | undefined | null>;
    }
    if (Date.now() > deadline) {
      const what = typeof message === 'function' ? message() : message;
      throw new Error(`not within ${timeoutMs} ms: ${what}`);
    }
    await sleep(intervalMs);
  }
}
