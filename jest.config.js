// Unit specs live next to the code (src/**/*.spec.ts); HTTP behaviour lives in test/**/*.e2e-spec.ts.
// Suites named *.redis.e2e-spec.ts need a real Redis (REDIS_URL); without it they are skipped,
// and this says so plainly. CI (.ci/run) always sets REDIS_URL and fails if Redis is down.
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const REDIS_SUITE = /\.redis\.e2e-spec\.ts$/;
const testPathIgnorePatterns = ['/node_modules/', '/dist/'];

if (!process.env.REDIS_URL) {
  const skipped = readdirSync(join(__dirname, 'test'), { recursive: true })
    .map(String)
    .filter((file) => REDIS_SUITE.test(file));
  testPathIgnorePatterns.push(REDIS_SUITE.source);
  process.stderr.write(
    `\nREDIS_URL is not set: skipping ${skipped.length} Redis suite(s): ${skipped.join(', ')}\n` +
      'Run them with REDIS_URL=redis://127.0.0.1:6379 npm test\n\n',
  );
}

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testRegex: '(src|test)/.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }],
    // content-disposition (under @fastify/static, which serves Swagger UI) ships ESM only, and
    // the OTLP exporter loads node:http with import(): Node runs both natively, CommonJS jest
    // needs them transpiled.
    'node_modules/(content-disposition|@opentelemetry/otlp-exporter-base)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(content-disposition|@opentelemetry/otlp-exporter-base)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
};
