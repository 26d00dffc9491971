/**
 * Property-based fuzzing driven by openapi.json: the document is the oracle.
 * - valid: requests the document allows get a status it lists; a 2xx body matches its response
 *   schema (ajv); a 400 is PostHog's (it reached PostHog) or a kind mismatch, never the BFF's own
 *   validation refusing what the document allows;
 * - invalid: a valid request with one thing broken (unknown field, wrong type, null, missing
 *   required value, bad id, out of range, repeated parameter, DELETE body) gets a 4xx problem+json
 *   and PostHog receives nothing;
 * - random: arbitrary methods, paths, queries and bodies, with or without a token: no 5xx, every
 *   error is problem+json, and nothing reaches PostHog unless the request was a valid one.
 * No answer and no log line ever contains the PostHog key or a caller token.
 *
 * Seeded: the seed is printed; replay a failure with FUZZ_SEED=<seed> npx jest test/fuzz.
 */
import fc from 'fast-check';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { DOC, matchesSchema, type Schema } from './support/openapi-schema';
import { type RawAnswer, rawRequest } from './support/raw-http';
import { CALLERS, POSTHOG_KEY, type Stack, startStack } from './support/stack';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = { valid: 400, invalid: 400, random: 300 };
/** With Redis (npm test, CI) every route is fuzzed; without it GET /v1/audit is left out (503). */
const REDIS_URL = process.env.REDIS_URL;
const SECRETS = [POSTHOG_KEY, ...Object.values(CALLERS).map((c) => c.token)];
/**
 * The one 5xx a request may get: PostHog refuses every personal API key on some actions (README, routes marked ¹),
 * answered 502 /problems/upstream-refuses-personal-keys.
 */
const refusesPersonalKeys = (answer: RawAnswer): boolean =>
  answer.status === 502 && answer.json?.type === '/problems/upstream-refuses-personal-keys';

/** The causes of a refusal made before PostHog (the README's error table). */
const REFUSED_BEFORE_POSTHOG = [
  '/problems/validation',
  '/problems/malformed-request',
  '/problems/unsupported-media-type',
  '/problems/unauthenticated',
  '/problems/forbidden',
  '/problems/not-found',
];
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

interface Operation {
  method: string;
  template: string;
  pathParams: Array<{ name: string; schema: Schema }>;
  query: Array<{ name: string; schema: Schema; required: boolean }>;
  body?: Schema;
  bodyRequired: boolean;
  responses: Record<string, Schema>;
  /** Query parameters of which at least one must be sent (x-at-least-one-of). */
  atLeastOneOf: string[];
}

const deref = (schema: Schema): Schema =>
  schema?.$ref ? deref(DOC.components.schemas[schema.$ref.split('/').pop()]) : schema;

const OPERATIONS: Operation[] = Object.entries(DOC.paths).flatMap(([template, item]) =>
  Object.entries(item as Record<string, Schema>)
    .filter(([method]) => ['get', 'post', 'patch', 'delete', 'put'].includes(method))
    .map(([method, op]) => {
      const params: Schema[] = op.parameters ?? [];
      const body = op.requestBody?.content?.['application/json']?.schema;
      return {
        [fc.toStringMethod]: () => `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        pathParams: params
          .filter((p) => p.in === 'path')
          .map((p) => ({ name: p.name, schema: p.schema })),
        query: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema, required: p.required === true })),
        body: body && deref(body),
        bodyRequired: op.requestBody?.required === true,
        responses: op.responses,
        atLeastOneOf: op['x-at-least-one-of'] ?? [],
      };
    }),
);

// ---- values the document allows -------------------------------------------------------------

/** Small JSON values with no number JSON cannot carry exactly (refused as 400, README). */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/**
 * Strings matching `pattern`. fast-check cannot generate from lookarounds: those are left out of
 * the generating pattern and the full pattern filters what it generates.
 */
function patternArb(pattern: string): fc.Arbitrary<string> {
  const full = new RegExp(pattern);
  try {
    return fc.stringMatching(full);
  } catch {
    return fc.stringMatching(new RegExp(withoutLookarounds(pattern))).filter((s) => full.test(s));
  }
}

/** `pattern` without its (?=…), (?!…), (?<=…) and (?<!…) groups. */
function withoutLookarounds(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (!/^\(\?<?[=!]/.test(pattern.slice(i))) {
      out += pattern[i];
      if (pattern[i] === '\\') out += pattern[++i] ?? '';
      continue;
    }
    let depth = 0;
    let inClass = false;
    for (; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === '\\') i++;
      else if (inClass) inClass = c !== ']';
      else if (c === '[') inClass = true;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
  }
  return out;
}

function stringArb(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 40;
  let arb: fc.Arbitrary<string>;
  if (schema.format === 'uuid') arb = fc.uuid();
  else if (schema.format === 'hostname') arb = fc.domain();
  else if (schema.format === 'uri') arb = fc.webUrl({ validSchemes: ['https', 'http'] });
  else if (schema.pattern) arb = patternArb(schema.pattern);
  else arb = fc.string({ minLength: min, maxLength: Math.min(max, 40) });
  return arb.filter((s) => s.length >= min && s.length <= max);
}

function valueArb(raw: Schema): fc.Arbitrary<unknown> {
  const schema = deref(raw);
  let arb: fc.Arbitrary<unknown>;
  if (schema.oneOf) {
    const { oneOf, ...base } = schema;
    arb = fc.oneof(...oneOf.map((branch: Schema) => valueArb(mergeSchemas(base, deref(branch)))));
  } else if (schema.enum) arb = fc.constantFrom(...schema.enum);
  else if (schema.type === 'integer') {
    arb = fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
  } else if (schema.type === 'number') arb = fc.double({ noNaN: true, noDefaultInfinity: true });
  else if (schema.type === 'boolean') arb = fc.boolean();
  else if (schema.type === 'string') arb = stringArb(schema);
  else if (schema.type === 'array') arb = fc.array(valueArb(schema.items ?? {}), { maxLength: 3 });
  else if (schema.type === 'object' || schema.properties) arb = objectArb(schema);
  else arb = jsonValue;
  return schema.nullable ? fc.option(arb, { nil: null }) : arb;
}

function mergeSchemas(base: Schema, branch: Schema): Schema {
  return {
    ...base,
    ...branch,
    properties: { ...base.properties, ...branch.properties },
    required: [...new Set([...(base.required ?? []), ...(branch.required ?? [])])],
  };
}

function objectArb(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, Schema> = schema.properties ?? {};
  const shape = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valueArb(s)]));
  const declared = fc.record(shape, { requiredKeys: schema.required ?? [] });
  if (schema.additionalProperties !== true) return declared;
  return fc
    .tuple(
      declared,
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), jsonValue, { maxKeys: 3 }),
    )
    .map(([own, extra]) => ({ ...extra, ...own }));
}

/** Ids that exist in the simulated PostHog, mixed with any the document allows. */
function pathValueArb(
  param: Operation['pathParams'][number],
  known: string[],
): fc.Arbitrary<string> {
  const generated = valueArb(param.schema).map(String);
  return known.length > 0 ? fc.oneof(fc.constantFrom(...known), generated) : generated;
}

interface Request {
  op: Operation;
  path: Record<string, string>;
  query: Array<[string, string]>;
  body?: unknown;
  /** Raw body text instead of JSON.stringify(body). */
  rawBody?: string;
  authorization?: string;
}

function validRequestArb(op: Operation, knownIds: Record<string, string[]>): fc.Arbitrary<Request> {
  const path = fc.record(
    Object.fromEntries(
      op.pathParams.map((p) => [
        p.name,
        pathValueArb(p, knownIds[op.template.split('/')[2]] ?? []),
      ]),
    ),
  );
  const anyQuery = fc.record(
    Object.fromEntries(op.query.map((q) => [q.name, valueArb(q.schema)])),
    {
      requiredKeys: op.query.filter((q) => q.required).map((q) => q.name),
    },
  );
  const body = op.body ? valueArb(op.body) : fc.constant(undefined);
  const oneOf = op.atLeastOneOf.map(
    (name) => op.query.find((q) => q.name === name) as Operation['query'][number],
  );
  const query: fc.Arbitrary<Record<string, unknown>> =
    oneOf.length === 0
      ? anyQuery
      : fc
          .tuple(
            anyQuery,
            fc
              .constantFrom(...oneOf)
              .chain((q) => valueArb(q.schema).map((v) => [q.name, v] as const)),
          )
          .map(([rest, [name, value]]) => ({ [name]: value, ...(rest as object) }));
  return fc.record({ path, query, body }).map(({ path, query, body }) => ({
    op,
    path: path as Record<string, string>,
    query: Object.entries(query).map(([k, v]) => [k, String(v)] as [string, string]),
    body,
  }));
}

// ---- one broken thing -----------------------------------------------------------------------

/** The types a schema takes: its own, or each of its oneOf branches' (string or integer ids). */
const typesOf = (schema: Schema): Set<string> => {
  const own = deref(schema);
  return new Set(own.oneOf ? own.oneOf.map((b: Schema) => deref(b).type) : [own.type]);
};

/** Null is valid where the schema, or one of its oneOf branches, says nullable. */
const acceptsNull = (schema: Schema): boolean => {
  const own = deref(schema);
  return Boolean(own.nullable || own.oneOf?.some((b: Schema) => deref(b).nullable));
};

const notOfType = (schema: Schema): fc.Arbitrary<unknown> => {
  const types = typesOf(schema);
  const others: fc.Arbitrary<unknown>[] = [];
  if (!types.has('object')) others.push(fc.constant({ nested: 1 }));
  if (!types.has('array')) others.push(fc.constant([1, 2]));
  if (!types.has('boolean')) others.push(fc.boolean());
  if (!types.has('string')) others.push(fc.string({ minLength: 1, maxLength: 8 }));
  if (!types.has('integer') && !types.has('number')) others.push(fc.integer());
  if (types.has('integer')) others.push(fc.constantFrom(1.5, -0.25));
  return fc.oneof(...others);
};

function invalidRequestArb(
  op: Operation,
  valid: fc.Arbitrary<Request>,
): fc.Arbitrary<[string, Request]> {
  const bodySchema = op.body;
  const mutations: fc.Arbitrary<[string, (r: Request) => Request]>[] = [
    fc
      .stringMatching(/^[a-z_]{1,12}$/)
      .filter((name) => !op.query.some((q) => q.name === name))
      .map((name) => [
        `unknown query ${name}`,
        (r) => ({ ...r, query: [...r.query, [name, '1']] }),
      ]),
  ];
  if (op.pathParams.length > 0) {
    const [param] = op.pathParams;
    const pattern = new RegExp(param.schema.pattern ?? '^[0-9a-f-]{36}$');
    mutations.push(
      fc
        .oneof(
          fc.string({ minLength: 1, maxLength: 20 }),
          fc.constantFrom('0', '-1', '1e3', 'x', '1.0'),
        )
        .filter((s) => !pattern.test(s) && !/[/?#%.]/.test(s) && s.trim() === s && s !== '')
        .map((bad) => [
          `bad path ${param.name}=${bad}`,
          (r) => ({ ...r, path: { ...r.path, [param.name]: bad } }),
        ]),
    );
  }
  const repeatable = op.query.filter((q) => deref(q.schema).type !== 'array');
  if (repeatable.length > 0) {
    mutations.push(
      fc.constantFrom(...repeatable).map((q) => [
        `repeated ${q.name}`,
        (r) => {
          const value = r.query.find(([k]) => k === q.name)?.[1] ?? '1';
          return {
            ...r,
            query: [...r.query.filter(([k]) => k !== q.name), [q.name, value], [q.name, value]],
          };
        },
      ]),
    );
  }
  for (const q of op.query) {
    const schema = deref(q.schema);
    if (q.required) {
      mutations.push(
        fc.constant([
          `missing ${q.name}`,
          (r: Request) => ({ ...r, query: r.query.filter(([k]) => k !== q.name) }),
        ]),
      );
    }
    if (schema.type === 'integer') {
      const outside = [schema.minimum - 1, schema.maximum + 1, 'x', '1.5'].filter(
        (v) => v !== undefined && !Number.isNaN(v),
      );
      mutations.push(
        fc.constantFrom(...outside).map((v) => [
          `${q.name}=${v}`,
          (r: Request) => ({
            ...r,
            query: [...r.query.filter(([k]) => k !== q.name), [q.name, String(v)]],
          }),
        ]),
      );
    }
    if (schema.enum) {
      mutations.push(
        fc.constant([
          `${q.name} not in enum`,
          (r: Request) => ({
            ...r,
            query: [...r.query.filter(([k]) => k !== q.name), [q.name, 'no-such-value-zz']],
          }),
        ]),
      );
    }
  }
  if (bodySchema) {
    const props: Record<string, Schema> = bodySchema.properties ?? {};
    const names = Object.keys(props);
    mutations.push(
      fc
        .oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[a-z_]{1,12}$/))
        .filter((name) => !(name in props))
        .map((name) => [
          `unknown body field ${name}`,
          (r) => ({ ...r, body: { ...(r.body as object), [name]: 'x' } }),
        ]),
      fc
        .constantFrom('[]', '"text"', '42', 'null', '{"a":', '{"a":9007199254740993}')
        .map((raw) => [`body ${raw}`, (r) => ({ ...r, rawBody: raw })]),
    );
    if (names.length > 0) {
      mutations.push(
        fc
          .constantFrom(...names)
          .chain((name) => notOfType(props[name]).map((v) => [name, v] as const))
          .map(([name, v]) => [
            `${name} of the wrong type`,
            (r) => ({ ...r, body: { ...(r.body as object), [name]: v } }),
          ]),
      );
      const nonNullable = names.filter((n) => !acceptsNull(props[n]));
      if (nonNullable.length > 0) {
        mutations.push(
          fc
            .constantFrom(...nonNullable)
            .map((name) => [
              `${name}: null`,
              (r) => ({ ...r, body: { ...(r.body as object), [name]: null } }),
            ]),
        );
      }
    }
    for (const name of bodySchema.required ?? []) {
      mutations.push(
        fc.constant([
          `missing ${name}`,
          (r: Request) => {
            const { [name]: _, ...rest } = r.body as Record<string, unknown>;
            return { ...r, body: rest };
          },
        ]),
      );
    }
  }
  if (op.method === 'DELETE') {
    mutations.push(fc.constant(['DELETE with a body', (r: Request) => ({ ...r, rawBody: '{}' })]));
  }
  return fc.tuple(valid, fc.oneof(...mutations)).map(([r, [label, mutate]]) => [label, mutate(r)]);
}

// ---- sending and checking -------------------------------------------------------------------

let counter = 0;
/** Statuses seen per kind of request, printed at the end (what the run covered). */
const seen: Record<string, Record<number, number>> = { valid: {}, invalid: {}, random: {} };
const count = (kind: string, status: number) => {
  seen[kind][status] = (seen[kind][status] ?? 0) + 1;
};

async function send(
  stack: Stack,
  r: Request,
): Promise<{ answer: RawAnswer; upstream: number; id: string }> {
  const id = `fuzz-${SEED}-${++counter}`;
  const path = r.op.template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(r.path[name]),
  );
  const search = r.query
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const text = r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
  const headers: Record<string, string> = { 'x-request-id': id };
  if (text !== undefined) headers['content-type'] = 'application/json';
  if (r.authorization !== undefined) headers.authorization = r.authorization;
  const answer = await rawRequest(
    stack.url,
    r.op.method,
    search ? `${path}?${search}` : path,
    headers,
    text,
  );
  const upstream = stack.fake.requests.filter((c) => c.headers['x-request-id'] === id).length;
  return { answer, upstream, id };
}

function describeRequest(r: Request): string {
  return JSON.stringify({
    method: r.op.method,
    path: r.op.template,
    params: r.path,
    query: r.query,
    body: r.body,
    raw: r.rawBody,
  });
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe(`fuzzing from openapi.json (seed ${SEED})`, () => {
  let stack: Stack;
  const knownIds: Record<string, string[]> = {};

  beforeAll(async () => {
    process.stdout.write(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} npx jest test/fuzz)\n`);
    stack = await startStack(
      {
        REDIS_URL,
        REDIS_KEY_PREFIX: `fuzz-${SEED}-${process.pid}:`,
        UPSTREAM_RATE_LIMIT_PER_MINUTE: '1000000',
        UPSTREAM_RATE_LIMIT_PER_HOUR: '1000000',
        UPSTREAM_CALLER_SHARE: '1',
      },
      // The fake's test-only switch, so the actions PostHog refuses to personal keys answer too and
      // their success bodies are checked against the document.
      { key: OPEN_REFUSED_ACTIONS },
    );
    const ids = async (path: string) =>
      ((await rawRequest(stack.url, 'GET', path)).json?.items ?? []).map((i: { id: unknown }) =>
        String(i.id),
      );
    knownIds.integrations = await ids('/v1/integrations');
    knownIds.organization = await ids('/v1/organization/integrations');
    knownIds['role-external-references'] = await ids('/v1/role-external-references');
  });
  afterAll(async () => {
    process.stdout.write(`fuzz seed ${SEED}: statuses seen ${JSON.stringify(seen)}\n`);
    expectNoSecret(stack.logs.join('\n'));
    await stack.close();
  });

  const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

  it(`answers ${RUNS.valid} document-valid requests as the document says`, async () => {
    // The audit trail is kept in Redis only (503 not-configured without it, README).
    const served = OPERATIONS.filter((op) => REDIS_URL || op.template !== '/v1/audit');
    const valid = fc.oneof(...served.map((op) => validRequestArb(op, knownIds)));
    await fc.assert(
      fc.asyncProperty(valid, async (r) => {
        stack.fake.reset();
        const { answer, upstream } = await send(stack, r);
        count('valid', answer.status);
        const context = `${describeRequest(r)} -> ${answer.status} ${answer.text.slice(0, 300)}`;
        expectNoSecret(answer.text);
        const documented = r.op.responses[String(answer.status)];
        expect([context, documented !== undefined]).toEqual([context, true]);
        if (answer.status >= 500)
          expect([context, refusesPersonalKeys(answer)]).toEqual([context, true]);
        if (answer.status === 400) {
          // The document allowed this request: only PostHog (or the integration's kind) may refuse it.
          const byPostHog =
            (upstream > 0 && answer.json?.type === '/problems/upstream-validation') ||
            answer.json?.type === '/problems/integration-kind-mismatch';
          expect([context, byPostHog]).toEqual([context, true]);
        }
        if (answer.status >= 400) expectProblem(answer, answer.status, undefined, { context });
        else if (answer.status !== 204) {
          const schema = documented.content?.['application/json']?.schema;
          expect([context, schema && matchesSchema(schema, answer.json)]).toEqual([
            context,
            undefined,
          ]);
        }
      }),
      params(RUNS.valid),
    );
  });

  it(`refuses ${RUNS.invalid} requests with one thing broken, before PostHog`, async () => {
    const invalid = fc.oneof(
      ...OPERATIONS.map((op) => invalidRequestArb(op, validRequestArb(op, knownIds))),
    );
    await fc.assert(
      fc.asyncProperty(invalid, async ([label, r]) => {
        const { answer, upstream } = await send(stack, r);
        count('invalid', answer.status);
        const context = `${label}: ${describeRequest(r)} -> ${answer.status} ${answer.text.slice(0, 300)}`;
        expectNoSecret(answer.text);
        expect([context, answer.status >= 400 && answer.status < 500]).toEqual([context, true]);
        expectProblem(answer, answer.status, 'validation', { context });
        expect([context, upstream]).toEqual([context, 0]);
      }),
      params(RUNS.invalid),
    );
  });

  it(`answers ${RUNS.random} random requests without a 5xx, errors as problem+json`, async () => {
    const op = fc.constantFrom(...OPERATIONS);
    const random = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
      path: fc.oneof(
        op.map((o) => o.template),
        fc.webPath(),
        fc
          .array(fc.string({ maxLength: 10 }), { maxLength: 4 })
          .map((s) => `/v1/${s.map(encodeURIComponent).join('/')}`),
      ),
      pathValue: fc.string({ maxLength: 20 }),
      query: fc.webQueryParameters(),
      body: fc.option(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          jsonValue.map((v) => JSON.stringify(v)),
        ),
      ),
      token: fc.constantFrom(
        undefined,
        '',
        'Bearer nope',
        `Bearer ${CALLERS.admin.token}`,
        `Bearer ${CALLERS.reader.token}`,
      ),
    });
    await fc.assert(
      fc.asyncProperty(random, async (x) => {
        const path = x.path.replace(/\{(\w+)\}/g, () => encodeURIComponent(x.pathValue));
        const target = x.query ? `${path}?${x.query}` : path;
        const id = `fuzz-${SEED}-${++counter}`;
        const headers: Record<string, string> = {
          'x-request-id': id,
          authorization: x.token ?? '',
        };
        if (x.body !== null) headers['content-type'] = 'application/json';
        const answer = await rawRequest(stack.url, x.method, target, headers, x.body ?? undefined);
        count('random', answer.status);
        const context = `${x.method} ${target} ${x.body ?? ''} (${x.token}) -> ${answer.status} ${answer.text.slice(0, 300)}`;
        expectNoSecret(answer.text);
        expect([context, answer.status < 500 || refusesPersonalKeys(answer)]).toEqual([
          context,
          true,
        ]);
        if (answer.status >= 400) expectProblem(answer, answer.status, undefined, { context });
        const upstream = stack.fake.requests.filter((c) => c.headers['x-request-id'] === id).length;
        if (
          REFUSED_BEFORE_POSTHOG.includes(answer.json?.type) &&
          answer.json?.type !== '/problems/not-found'
        ) {
          expect([context, upstream]).toEqual([context, 0]);
        }
        if (upstream > 0) {
          // Only an admitted caller's request that passed validation may reach PostHog.
          expect([
            context,
            x.token?.includes(CALLERS.admin.token) || x.token?.includes(CALLERS.reader.token),
          ]).toEqual([context, true]);
        }
      }),
      params(RUNS.random),
    );
  });
});
