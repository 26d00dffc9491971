/**
 * `npm run openapi`: builds the app with a fixed placeholder configuration (no listening, no
 * network, no environment read) and writes its OpenAPI document to openapi.json at the repo root.
 * test/openapi.e2e-spec.ts fails when the committed file differs from what this generates.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createApp } from '../app';
import { loadConfig } from '../config/config';
import { buildOpenApi } from './swagger';

/** The repo root's openapi.json, from src/docs (ts) and from dist/docs (built) alike. */
export const OPENAPI_FILE = resolve(__dirname, '../../openapi.json');

/** Placeholder values only: the document does not depend on configuration. */
const DOCUMENT_CONFIG = loadConfig({
  POSTHOG_API_KEY: 'phx_placeholder_for_openapi',
  POSTHOG_PROJECT_ID: '1',
  POSTHOG_ORGANIZATION_ID: '00000000-0000-4000-8000-000000000000',
  BFF_CLIENTS: JSON.stringify([
    { id: 'openapi', token_sha256: '0'.repeat(64), scopes: ['integration:read'] },
  ]),
  LOG_LEVEL: 'silent',
});

/** The text of openapi.json: the document with sorted keys, two-space indent, final newline. */
export async function renderOpenApi(): Promise<string> {
  const app = await createApp(DOCUMENT_CONFIG, { write: () => undefined });
  try {
    return `${JSON.stringify(buildOpenApi(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  renderOpenApi()
    .then((text) => {
      writeFileSync(OPENAPI_FILE, text);
      process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`openapi: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
