// The committed OpenAPI document, and ajv validation of an answer against one of its schemas.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { ProxyRoute } from '../../src/routes/route';
import type { Answer } from './stack';

// biome-ignore lint/suspicious/noExplicitAny: the document is arbitrary JSON
export type Schema = any;

export const DOC: Schema = JSON.parse(
  readFileSync(resolve(__dirname, '../../openapi.json'), 'utf8'),
);

/**
 * The document as a strict reader takes it: every named object schema that does not say otherwise
 * refuses fields it does not declare, so an answer with a field the document omits (or a field
 * PostHog never sends) is caught, not only a missing one.
 */
function strictDocument(doc: Schema): Schema {
  const strict = structuredClone(doc);
  for (const schema of Object.values(strict.components.schemas) as Schema[]) {
    if (schema.properties && schema.additionalProperties === undefined) {
      schema.additionalProperties = false;
    }
  }
  return strict;
}

function validatorOf(doc: Schema) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  return (schema: Schema, value: unknown): string | undefined => {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (!validate) {
      const rewritten = JSON.parse(key.replace(/"#\/components\//g, '"openapi.json#/components/'));
      validate = ajv.compile(rewritten);
      compiled.set(key, validate);
    }
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
}

const lenient = validatorOf(DOC);
let strict: ReturnType<typeof validatorOf> | undefined;

/**
 * Validates a body against a schema of the document (its $refs resolved in place); `strictly`:
 * undeclared fields of named schemas fail too (see strictDocument).
 */
export function matchesSchema(
  schema: Schema,
  value: unknown,
  strictly = false,
): string | undefined {
  if (!strictly) return lenient(schema, value);
  strict ??= validatorOf(strictDocument(DOC));
  return strict(schema, value);
}

/** The JSON schema the document gives `status` of `method path` (path as /v1/a/{id}). */
export function responseSchema(method: string, path: string, status: number): Schema | undefined {
  const op = DOC.paths[path]?.[method.toLowerCase()];
  return op?.responses?.[String(status)]?.content?.['application/json']?.schema;
}

/**
 * The answer matches the success schema openapi.json documents for the route (and the document has
 * one for its status); `strictly`: no undeclared field either (see matchesSchema).
 */
export function expectDocumentedSuccess(
  route: Pick<ProxyRoute, 'method' | 'path'>,
  answer: Pick<Answer, 'status' | 'json'>,
  strictly = false,
): void {
  const path = route.path.replace(/:(\w+)/g, '{$1}');
  const schema = responseSchema(route.method, path, answer.status);
  expect([route.path, answer.status, schema !== undefined]).toEqual([
    route.path,
    answer.status,
    true,
  ]);
  expect([route.path, matchesSchema(schema, answer.json, strictly)]).toEqual([
    route.path,
    undefined,
  ]);
}
