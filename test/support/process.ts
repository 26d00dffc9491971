/** Child processes for the suites that run the service as deployed (dist/main.js, the demo). */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The built service, as the image runs it. */
export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** Resolves with stdout once it matches (rejects if the process exits first). */
  waitFor(pattern: RegExp): Promise<string>;
}

/** Starts `node <args>` with exactly this environment (nothing inherited but PATH). */
export function startNode(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const check of waiters) check();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      // Let the pipes drain before reading them.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(stdout)) return;
        waiters.delete(check);
        resolve(stdout);
      };
      waiters.add(check);
      check();
      exited.then((exit) => {
        waiters.delete(check);
        reject(new Error(`exited (${exit.code}) before ${pattern}: ${exit.stdout}${exit.stderr}`));
      });
    });
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitFor };
}

/** Starts `node dist/main.js` with exactly this environment (nothing inherited but PATH). */
export function startMain(env: Record<string, string>): Running {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`npm run build\` before this suite (npm test does).`);
  }
  return startNode([MAIN], env);
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
