/**
 * Two OpenAPI linters nobody here wrote, run on the committed openapi.json with their stock
 * rulesets (.spectral.yaml: spectral:oas; redocly.yaml: recommended): no error, no warning.
 * Both run offline from node_modules.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..');
const run = promisify(execFile);
const bin = (name: string) => resolve(ROOT, 'node_modules/.bin', name);
const QUIET = {
  ...process.env,
  REDOCLY_TELEMETRY: 'off',
  REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  NO_COLOR: '1',
};

/** Runs a linter that may exit non-zero on findings; its JSON report is on stdout either way. */
async function report(file: string, args: string[]): Promise<string> {
  try {
    return (await run(file, args, { cwd: ROOT, env: QUIET, maxBuffer: 32 << 20 })).stdout;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return stdout;
  }
}

jest.setTimeout(60_000);

describe('openapi.json under third-party linters', () => {
  it('passes @stoplight/spectral-cli (spectral:oas) with no finding of any severity', async () => {
    const out = await report(bin('spectral'), [
      'lint',
      'openapi.json',
      '--ruleset',
      '.spectral.yaml',
      '--format',
      'json',
      '--quiet',
    ]);
    const findings = JSON.parse(out.trim() || '[]') as Array<{ code: string; path: string[] }>;
    expect(findings.map((f) => `${f.code} at ${f.path.join('.')}`)).toEqual([]);
  });

  it('passes @redocly/cli lint (recommended) with no error and no warning', async () => {
    const out = await report(bin('redocly'), [
      'lint',
      'openapi.json',
      '--config',
      'redocly.yaml',
      '--format',
      'json',
    ]);
    const json = JSON.parse(out.slice(out.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string }>;
    };
    expect(json.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(json.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
