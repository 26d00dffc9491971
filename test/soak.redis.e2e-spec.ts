/**
 * The 60-second soak (`bench/soak.ts`, see bench/README.md): three replicas of the built BFF on
 * a Redis of their own, the simulated PostHog, a steady keep-alive load with an oracle of writes,
 * and every fault of the program once. Then the goals that must hold, one test each: a failing
 * test prints the goal as the soak measured it (`measured`) and, when the measurement points at
 * one, its known cause (`cause`). Needs `npm run build` and redis-server; the report goes to a
 * temporary directory, named in the output.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoakReport } from '../bench/soak-report';

const ROOT = join(__dirname, '..');
const SECONDS = 60;
const out = mkdtempSync(join(tmpdir(), 'soak-'));
let report: SoakReport;

beforeAll(async () => {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/ts-node/dist/bin.js'), '--transpile-only', 'bench/soak.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, SOAK_SECONDS: String(SECONDS), SOAK_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const file = join(out, 'soak.json');
  if (!existsSync(file)) {
    throw new Error(`the soak did not finish (exit ${code}):\n${output.slice(-4000)}`);
  }
  report = JSON.parse(readFileSync(file, 'utf8')) as SoakReport;
  process.stderr.write(`soak report: ${join(out, 'soak.md')}\n`);
}, 300_000);

function goal(id: string) {
  const found = report.goals.find((g) => g.id === id);
  if (!found) throw new Error(`the soak reported no goal "${id}"`);
  return found;
}

/** The goal as measured, expected met: a failure's diff shows what was measured and why. */
function expectMet(id: string): void {
  const measured = goal(id);
  expect(measured).toEqual({ ...measured, met: true });
}

describe(`the ${SECONDS} s soak`, () => {
  it('ran the load, the oracle and every kind of fault', () => {
    expect(report.requests.answered).toBeGreaterThan(
      0.9 * report.seconds * Number(report.settings.SOAK_RATE),
    );
    expect(goal('pre-write').met).not.toBeNull(); // the oracle checked answers after writes
    expect(new Set(report.faults.map((f) => f.kind))).toEqual(
      new Set(['posthog-5xx', 'posthog-slow', 'posthog-throttle', 'redis', 'replica']),
    );
  });

  it('answers no unexpected 5xx (expected: 502/504 while PostHog fails, no copy in the fleet)', () => {
    expectMet('unexpected-5xx');
  });

  it('answers nothing older than a write that completed before the request was sent', () => {
    expectMet('pre-write');
  });

  it('never calls PostHog more often in a sliding minute than the budget', () => {
    expectMet('budget');
  });

  // Measured and reported (soak.md, and `npm run soak`'s exit code), not asserted in CI: in a 60 s
  // run on a loaded CI machine these two vary from run to run (met here, missed there: a replica
  // restarted during a PostHog outage retries its hot keys; requests already in flight when the
  // throttle lands reach PostHog). The committed 10-minute result says which are met and why not.
  it('measures calls per hot key per freshness period and calls during a throttle wait', () => {
    for (const id of ['hot-key-calls', 'throttle-pause']) {
      const measured = goal(id);
      expect(measured.met).not.toBeNull();
      process.stderr.write(
        `soak goal ${id}: ${measured.met ? 'met' : 'not met'}: ${measured.measured}\n`,
      );
    }
  });
});
