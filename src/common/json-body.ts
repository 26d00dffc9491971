import type { FastifyInstance } from 'fastify';
import { type FieldError, Problem } from './problem';

const MAX_JSON_DEPTH = 32;

/**
 * The only body parser: Fastify's own JSON parser (which refuses __proto__ and
 * constructor.prototype keys), plus the body rules every route shares:
 * - an empty body reads as {} for routes whose fields are all optional (the DTO decides);
 * - a DELETE takes no body (a body there would be silently ignored);
 * - nesting deeper than MAX_JSON_DEPTH is refused before parsing;
 * - the body is a JSON object;
 * - no integer beyond ±(2^53 − 1): JSON.parse would silently change it (9007199254740993 becomes
 *   …992, 1e21 is re-sent as 1e+21) and PostHog would get another value than the caller sent.
 * Any other content type has no parser: Fastify answers 415 (text/plain included).
 */
export function installJsonParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (request.method === 'DELETE' && text !== '') {
      return done(refused('body', 'a DELETE request takes no body'), undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    if (nestingDepth(text) > MAX_JSON_DEPTH) {
      return done(
        Problem.badRequest(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`),
        undefined,
      );
    }
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return done(refused('body', 'the request body must be a JSON object'), undefined);
      }
      const unsafe = unsafeIntegers(value, '');
      if (unsafe.length > 0) {
        const names = unsafe.map((e) => e.field).join(', ');
        return done(Problem.badRequest(`Invalid request: ${names}.`, unsafe), undefined);
      }
      done(null, value);
    });
  });
}

function refused(field: string, message: string): Problem {
  return Problem.badRequest(`Invalid request: ${message}.`, [{ field, message }]);
}

/**
 * Every number whose value is an integer outside the safe range, by its path (`config.a[2]`).
 * A literal parses to such a value exactly when it was not carried faithfully: an integer literal
 * up to 2^53 − 1 parses exactly, and any longer one (or 1e21, 1e400) lands beyond it.
 */
export function unsafeIntegers(value: unknown, path: string): FieldError[] {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) || (!Number.isInteger(value) && Number.isFinite(value))
      ? []
      : [
          {
            field: path || 'body',
            message: `${path || 'body'} must be an integer between -(2^53 - 1) and 2^53 - 1`,
          },
        ];
  }
  if (Array.isArray(value))
    return value.flatMap((item, i) => unsafeIntegers(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      unsafeIntegers(item, path ? `${path}.${key}` : key),
    );
  }
  return [];
}

function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}
