// The OpenAPI document: served without a token, valid OpenAPI 3, describing exactly the /v1
// routes of the route tables (src/**/*.routes.ts) with their DTOs, scopes and problem+json
// errors, and identical to the committed openapi.json (`npm run openapi` regenerates it).
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { AUDIT_ROUTE } from '../src/audit/audit.controller';
import { OPENAPI_FILE, renderOpenApi } from '../src/docs/write-openapi';
import type { ProxyRoute } from '../src/routes/route';
import { TENANTS_ROUTE } from '../src/tenants/tenants.controller';
import { declaredRoutes } from './support/routes';
import { CALLERS, type Stack, startStack } from './support/stack';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** /v1/integrations/:id → /v1/integrations/{id} */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');
/** A sorted copy (never sort the document's own arrays in place). */
const sorted = (values: unknown[] | undefined) => [...(values ?? [])].sort();
const pathParams = (path: string) => [...path.matchAll(/:(\w+)/g)].map((m) => m[1]);

describe('OpenAPI document', () => {
  let stack: Stack;
  let doc: OpenAPIV3.Document;
  const routes = declaredRoutes();

  const operation = (route: ProxyRoute): OpenAPIV3.OperationObject => {
    const item = doc.paths[openApiPath(route.path)];
    const op = item?.[route.method.toLowerCase() as OpenAPIV3.HttpMethods];
    if (!op) throw new Error(`${route.method} ${route.path} is not in the document`);
    return op;
  };
  const schema = (ref: unknown): OpenAPIV3.SchemaObject => {
    const name = String((ref as OpenAPIV3.ReferenceObject).$ref).replace(
      '#/components/schemas/',
      '',
    );
    const found = doc.components?.schemas?.[name];
    if (!found) throw new Error(`no component schema ${name}`);
    return found as OpenAPIV3.SchemaObject;
  };
  const param = (route: ProxyRoute, name: string) => {
    const found = (operation(route).parameters as OpenAPIV3.ParameterObject[]).find(
      (p) => p.name === name,
    );
    if (!found) throw new Error(`${route.method} ${route.path} has no parameter ${name}`);
    return found;
  };
  const body = (route: ProxyRoute) => {
    const request = operation(route).requestBody as OpenAPIV3.RequestBodyObject;
    return schema(request.content['application/json'].schema);
  };
  const prop = (object: OpenAPIV3.SchemaObject, name: string) =>
    (object.properties?.[name] ?? {}) as OpenAPIV3.SchemaObject;
  const routeAt = (method: string, path: string) => {
    const found = routes.find((r) => r.method === method && r.path === path);
    if (!found) throw new Error(`no route ${method} ${path} in the route tables`);
    return found;
  };

  beforeAll(async () => {
    stack = await startStack();
    const answer = await stack.client.get('/docs-json', { as: null });
    expect(answer.status).toBe(200);
    doc = answer.json;
  });
  afterAll(() => stack?.close());

  it('finds the route tables (sanity check of the derivation)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(24);
    expect(routes.some((r) => r.path === '/v1/integrations/:id' && r.method === 'GET')).toBe(true);
  });

  it('serves Swagger UI at /docs and the JSON document at /docs-json without a token', async () => {
    const ui = await stack.client.get('/docs', { as: null });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(ui.text).toMatch(/swagger-ui/i);
    // The page's scripts and styles are served too, relative to /docs/.
    const assets = [...ui.text.matchAll(/(?:src|href)="\.\/docs\/([\w.-]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['swagger-ui-bundle.js', 'swagger-ui-init.js']));
    for (const asset of assets) {
      const answer = await stack.client.get(`/docs/${asset}`, { as: null });
      expect({ asset, status: answer.status }).toEqual({ asset, status: 200 });
    }
    const json = await stack.client.get('/docs-json', { as: null });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/application\/json/);
    expect(json.json.openapi).toMatch(/^3\./);
  });

  it('is a valid OpenAPI 3 document (swagger-parser)', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('describes exactly the /v1 routes of the route tables, nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item?.[m as OpenAPIV3.HttpMethods]).map(
        (m) => `${m.toUpperCase()} ${path}`,
      ),
    );
    // Plus the BFF's own GET /v1/audit and GET /v1/tenants (not proxied, so in no route table).
    // Fastify answers HEAD on every GET route: each GET is documented with its HEAD.
    const declared = [...routes, AUDIT_ROUTE, TENANTS_ROUTE].flatMap((r) =>
      [r.method, ...(r.method === 'GET' ? ['HEAD'] : [])].map((m) => `${m} ${openApiPath(r.path)}`),
    );
    expect(documented.sort()).toEqual([...new Set(declared)].sort());
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\/v1\//);
  });

  it('describes the tenant prefix once, and GET /v1/tenants with its problems', () => {
    const prefix = (doc as unknown as Record<string, { prefix: string }>)['x-tenant-prefix'];
    expect(prefix.prefix).toBe('/v1/tenants/{tenant}');
    expect(doc.info.description).toContain('/v1/tenants/{tenant}/<path>');
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/v1/tenants'))).toEqual([
      '/v1/tenants',
    ]);
    expect(doc.servers?.[0]?.url).toBe('/');
  });

  it('documents X-Request-Id on the answers of the BFF’s own routes too', () => {
    for (const route of [AUDIT_ROUTE, TENANTS_ROUTE]) {
      const ok = operation(route).responses['200'] as OpenAPIV3.ResponseObject;
      expect(Object.keys(ok.headers ?? {})).toContain('X-Request-Id');
    }
  });

  it('documents GET /v1/audit: audit:read, its query, the AuditPage, 503 without Redis', () => {
    const op = operation(AUDIT_ROUTE);
    expect(op).toHaveProperty('x-required-scope', 'audit:read');
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(sorted(op.parameters?.map((p) => (p as OpenAPIV3.ParameterObject).name))).toEqual([
      'before',
      'caller',
      'limit',
    ]);
    const ok = op.responses['200'] as OpenAPIV3.ResponseObject;
    expect(ok.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/AuditPage',
    });
    for (const status of ['400', '401', '403', '429', '503']) {
      expect(
        (op.responses[status] as OpenAPIV3.ResponseObject).content?.['application/problem+json'],
      ).toEqual({ schema: { $ref: '#/components/schemas/Problem' } });
    }
  });

  it('leaves health, metrics and docs out', () => {
    const paths = Object.keys(doc.paths).join(' ');
    expect(paths).not.toMatch(/health|metrics|docs/);
  });

  it('requires the bearer caller token on every operation and names its scope', () => {
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    for (const route of routes) {
      const op = operation(route);
      expect({ route: route.path, security: op.security }).toEqual({
        route: route.path,
        security: [{ bearer: [] }],
      });
      expect(op).toHaveProperty('x-required-scope', route.scope);
      expect(op.description).toContain(route.scope);
      expect(op.summary).toBe(route.summary);
      expect(op.tags).toHaveLength(1);
      expect(doc.tags?.map((t) => t.name)).toContain(op.tags?.[0]);
    }
  });

  it('declares every path parameter, and a JSON body on every POST and PATCH', () => {
    for (const route of routes) {
      const op = operation(route);
      const inPath = ((op.parameters ?? []) as OpenAPIV3.ParameterObject[])
        .filter((p) => p.in === 'path')
        .map((p) => ({ name: p.name, required: p.required }));
      expect(inPath).toEqual(pathParams(route.path).map((name) => ({ name, required: true })));
      if (route.method === 'POST' || route.method === 'PATCH') {
        const request = op.requestBody as OpenAPIV3.RequestBodyObject | undefined;
        expect(request?.content?.['application/json']?.schema).toBeDefined();
      } else {
        expect(op.requestBody).toBeUndefined();
      }
    }
  });

  it('answers every error as application/problem+json with the Problem schema', () => {
    const problem = doc.components?.schemas?.Problem as OpenAPIV3.SchemaObject;
    expect(Object.keys(problem.properties ?? {}).sort()).toEqual(
      ['detail', 'errors', 'request_id', 'status', 'title', 'type'].sort(),
    );
    for (const route of routes) {
      const responses = operation(route).responses;
      for (const status of ['400', '401', '403', '404', '429', '502', '504']) {
        const response = responses[status] as OpenAPIV3.ResponseObject | undefined;
        expect({ route: route.path, status, has: Boolean(response) }).toEqual({
          route: route.path,
          status,
          has: true,
        });
        expect(response?.content?.['application/problem+json']?.schema).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
      expect((responses['429'] as OpenAPIV3.ResponseObject).headers).toHaveProperty('Retry-After');
    }
  });

  it('documents the success shape: list page, redirect, 204 on DELETE, X-Cache on GETs', () => {
    for (const route of routes) {
      const responses = operation(route).responses;
      const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
      expect(success).toHaveLength(1);
      const [status, response] = success[0] as [string, OpenAPIV3.ResponseObject];
      if (route.method === 'DELETE' || route.answer === 'none') {
        expect(status).toBe('204');
        expect(response.content).toBeUndefined();
        continue;
      }
      const body = response.content?.['application/json']?.schema;
      // Every success body is a named schema with its real fields, never a bare object.
      const named = (ref: string) => {
        const found = schema({ $ref: ref });
        expect({
          route: route.path,
          ref,
          fields: Object.keys(found.properties ?? {}).length > 0,
        }).toEqual({ route: route.path, ref, fields: true });
      };
      if (route.answer === 'list') {
        const [page, items] = (body as OpenAPIV3.SchemaObject).allOf as OpenAPIV3.SchemaObject[];
        expect(page).toEqual({ $ref: '#/components/schemas/ListPage' });
        const array = items.properties?.items as OpenAPIV3.ArraySchemaObject;
        named((array.items as OpenAPIV3.ReferenceObject).$ref);
      } else if (route.answer === 'redirect') {
        expect(body).toEqual({ $ref: '#/components/schemas/RedirectUrl' });
      } else named((body as OpenAPIV3.ReferenceObject).$ref);
      expect(response.headers).toHaveProperty('X-Request-Id');
      if (route.method === 'GET') expect(response.headers).toHaveProperty('X-Cache');
    }
    const page = doc.components?.schemas?.ListPage as OpenAPIV3.SchemaObject;
    expect(sorted(page.required)).toEqual(['items', 'limit', 'next_offset', 'offset', 'total']);
    expect(page.properties?.next_offset).toMatchObject({ type: 'integer', nullable: true });
  });

  it('documents query DTOs: limit/offset bounds as integers, kind enum, required parameters', () => {
    const list = routeAt('GET', '/v1/integrations');
    expect(param(list, 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100 },
    });
    expect(param(list, 'offset').schema).toMatchObject({ type: 'integer', minimum: 0 });
    // Kind names by shape, not a copy of PostHog's weekly-changing list.
    const kind = param(list, 'kind').schema as OpenAPIV3.SchemaObject;
    expect(kind.enum).toBeUndefined();
    expect(kind.pattern).toBe('^[a-z0-9][a-z0-9-]{0,31}$');

    expect(param(routeAt('GET', '/v1/integrations/domain-connect/check'), 'domain').required).toBe(
      true,
    );
    expect(
      param(routeAt('GET', '/v1/integrations/:id/linkedin-ads/conversion-rules'), 'account_id')
        .required,
    ).toBe(true);
    const authorize = routeAt('GET', '/v1/integrations/authorize');
    expect(param(authorize, 'kind').required).toBe(true);
    expect(param(authorize, 'next').required).toBe(false);
    const lookup = routeAt('GET', '/v1/role-external-references/lookup');
    expect(param(lookup, 'provider').required).toBe(true);
    expect(param(lookup, 'provider_organization_id').required).toBe(true);
    expect(param(routeAt('GET', '/v1/integrations/:id'), 'id').schema).toMatchObject({
      pattern: expect.any(String),
    });
    expect(param(routeAt('GET', '/v1/organization/integrations/:id'), 'id').schema).toMatchObject({
      format: 'uuid',
    });
  });

  it('documents body DTOs with their required fields, enums and integer types', () => {
    const create = body(routeAt('POST', '/v1/integrations'));
    expect(sorted(create.required)).toEqual(['kind']);
    expect(prop(create, 'kind').pattern).toBe('^[a-z0-9][a-z0-9-]{0,31}$');
    expect(create.properties?.config).toMatchObject({ type: 'object' });

    const apply = body(routeAt('POST', '/v1/integrations/domain-connect/apply-url'));
    expect(apply.required).toEqual(['context']);
    expect(sorted(prop(apply, 'context').enum)).toEqual(['email', 'proxy']);
    expect(apply.properties?.integration_id).toMatchObject({ type: 'integer' });

    const mapping = body(routeAt('PATCH', '/v1/organization/integrations/:id/environment-mapping'));
    expect(mapping.required).toEqual(['production']);
    expect(mapping.properties?.production).toMatchObject({ type: 'integer', minimum: 1 });
    expect(mapping.properties?.preview).toMatchObject({ type: 'integer' });
    expect(mapping.properties?.preview).not.toHaveProperty('nullable'); // PostHog: may not be null

    const oauth = body(routeAt('POST', '/v1/integrations/github/oauth-authorize'));
    expect(oauth.required).toEqual(['installation_id']);
    const link = body(routeAt('POST', '/v1/integrations/github/link-existing'));
    expect(link.properties?.discovery_id).toMatchObject({ format: 'uuid' });

    const reference = body(routeAt('POST', '/v1/role-external-references'));
    expect(sorted(reference.required)).toEqual(
      [
        'provider',
        'provider_organization_id',
        'provider_role_id',
        'provider_role_name',
        'role',
      ].sort(),
    );
    expect(reference.properties?.role).toMatchObject({ format: 'uuid' });
    expect(reference.properties?.provider_role_slug).toMatchObject({ nullable: true });

    expect(body(routeAt('POST', '/v1/integrations/github/link-existing')).required ?? []).toEqual(
      [],
    );
  });

  describe('says what the service enforces', () => {
    const bodyRoutes = () => routes.filter((r) => r.method === 'POST' || r.method === 'PATCH');

    it('refuses unknown body fields (additionalProperties: false), except inside config', () => {
      for (const route of bodyRoutes()) {
        expect([route.path, body(route).additionalProperties]).toEqual([route.path, false]);
      }
      const create = body(routeAt('POST', '/v1/integrations'));
      expect(create.properties?.config).toMatchObject({ additionalProperties: true });
    });

    it('marks a body required exactly where an empty body is refused (a field is required)', () => {
      for (const route of bodyRoutes()) {
        const request = operation(route).requestBody as OpenAPIV3.RequestBodyObject;
        const required = (body(route).required ?? []).length > 0;
        expect([route.path, request.required]).toEqual([route.path, required]);
      }
    });

    it('states patterns, formats, not-blank rules and integer bounds the validators apply', () => {
      const oauth = body(routeAt('POST', '/v1/integrations/github/oauth-authorize'));
      const next = prop(oauth, 'next');
      expect(next.pattern).toBeDefined();
      const relative = new RegExp(String(next.pattern));
      for (const ok of ['/', '/project/1/settings', '/a?b=c']) expect(relative.test(ok)).toBe(true);
      for (const bad of ['//evil.com', '/\\evil.com', 'https://evil.com', 'x', '/a b']) {
        expect([bad, relative.test(bad)]).toEqual([bad, false]);
      }
      expect(
        param(routeAt('GET', '/v1/integrations/domain-connect/check'), 'domain').schema,
      ).toMatchObject({
        format: 'hostname',
      });
      const reference = body(routeAt('POST', '/v1/role-external-references'));
      expect(prop(reference, 'provider')).toMatchObject({ minLength: 1, pattern: '\\S' });
      const apply = body(routeAt('POST', '/v1/integrations/domain-connect/apply-url'));
      expect(prop(apply, 'integration_id')).toMatchObject({ maximum: Number.MAX_SAFE_INTEGER });
      expect(prop(apply, 'redirect_uri')).toMatchObject({ format: 'uri' });
    });

    it('states the conditional requirement of apply-url as oneOf', () => {
      const apply = body(routeAt('POST', '/v1/integrations/domain-connect/apply-url'));
      expect(apply.oneOf).toEqual([
        { properties: { context: { enum: ['email'] } }, required: ['integration_id'] },
        { properties: { context: { enum: ['proxy'] } }, required: ['proxy_record_id'] },
      ]);
    });

    it('lists the statuses every operation can get outside its route: 414, 415, 431, 503', () => {
      for (const route of routes) {
        const statuses = Object.keys(operation(route).responses);
        expect([route.path, statuses]).toEqual([
          route.path,
          expect.arrayContaining(['400', '414', '415', '431', '503']),
        ]);
      }
    });

    it('documents servers and a license', () => {
      expect(doc.servers?.length).toBeGreaterThan(0);
      expect(doc.info.license?.name).toEqual(expect.any(String));
    });

    it('answers HEAD on a GET route with its status and headers, as documented', async () => {
      const head = await fetch(`${stack.url}/v1/integrations`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${CALLERS.reader.token}` },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('x-cache')).toEqual(expect.any(String));
      expect(head.headers.get('x-request-id')).toEqual(expect.any(String));
      const anonymous = await fetch(`${stack.url}/v1/integrations`, { method: 'HEAD' });
      expect(anonymous.status).toBe(401);
      expect(Object.keys(doc.paths['/v1/integrations']?.head?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '401']),
      );
    });
  });

  it('is what the committed openapi.json says (run `npm run openapi` after changing routes)', async () => {
    let committed: string;
    try {
      committed = readFileSync(OPENAPI_FILE, 'utf8');
    } catch {
      throw new Error(`${OPENAPI_FILE} is missing: run \`npm run openapi\` and commit it`);
    }
    const generated = await renderOpenApi();
    if (committed !== generated) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      throw new Error(
        `openapi.json is out of date: run \`npm run openapi\` and commit it.\n` +
          `First difference at line ${line + 1}:\n  committed: ${a[line]}\n  generated: ${b[line]}`,
      );
    }
    expect(generated.endsWith('}\n')).toBe(true);
    expect(JSON.parse(committed)).toEqual(doc);
  });
});
