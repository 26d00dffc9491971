// The committed OpenAPI document, and ajv validation of an answer against one of its schemas.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

// biome-ignore lint/suspicious/noExplicitAny: the document is arbitrary JSON
export type Schema = any;

export const DOC: Schema = JSON.parse(
  readFileSync(resolve(__dirname, '../../openapi.json'), 'utf8'),
);

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(DOC, 'openapi.json');
const validatorCache = new Map<string, ReturnType<typeof ajv.compile>>();

/** Validates a body against a schema of the document (its $refs resolved in place). */
export function matchesSchema(schema: Schema, value: unknown): string | undefined {
  const key = JSON.stringify(schema);
  let validate = validatorCache.get(key);
  if (!validate) {
    const rewritten = JSON.parse(key.replace(/"#\/components\//g, '"openapi.json#/components/'));
    validate = ajv.compile(rewritten);
    validatorCache.set(key, validate);
  }
  return validate(value) ? undefined : ajv.errorsText(validate.errors);
}

/** The JSON schema the document gives `status` of `method path` (path as /v1/a/{id}). */
export function responseSchema(method: string, path: string, status: number): Schema | undefined {
  const op = DOC.paths[path]?.[method.toLowerCase()];
  return op?.responses?.[String(status)]?.content?.['application/json']?.schema;
}
