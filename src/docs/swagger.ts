import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import * as swagger from '@nestjs/swagger';
import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { getMetadataStorage } from 'class-validator';
import { applyApiDecorators } from './api-decorators';
import { RESPONSE_MODELS } from './problem.schema';
import { AT_LEAST_ONE_OF, schemaRules } from './schema-rules';

const PACKAGE: { license: string } = require('../../package.json');

/** Groups of /v1 routes, by path prefix (the longest matching prefix wins). */
const TAGS = [
  {
    prefix: '/v1/integrations',
    name: 'Integrations',
    description:
      "Project integrations (PostHog's /api/projects/:id/integrations) and their helper routes.",
  },
  {
    prefix: '/v1/organization/integrations',
    name: 'Organization integrations',
    description: 'Integrations that belong to the organization (e.g. Vercel); ids are UUIDs.',
  },
  {
    prefix: '/v1/role-external-references',
    name: 'Role external references',
    description: "Links between PostHog roles and an identity provider's roles; ids are UUIDs.",
  },
  {
    prefix: '/v1/audit',
    name: 'Audit',
    description: "The BFF's own record of the writes that reached PostHog (Redis only).",
  },
  {
    prefix: '/v1/tenants',
    name: 'Tenants',
    description: 'The PostHog projects (tenants) a caller may use; see the tenant prefix above.',
  },
];

const DESCRIPTION = [
  "Internal API in front of PostHog's Integrations API.",
  '',
  'Every /v1 route needs `Authorization: Bearer <caller token>`; the token must carry the scope',
  'named by the route (`x-required-scope`). Missing or unknown token: 401; missing scope: 403;',
  'a caller over its own per-minute limit: 429 with Retry-After.',
  '',
  "Lists answer `{items, total, limit, offset, next_offset}`; other reads answer PostHog's JSON",
  'unchanged; DELETE answers 204. Every error is RFC 9457 `application/problem+json` with the',
  'request id. Every answer carries `X-Request-Id`; every successful GET answers `X-Cache: HIT|MISS|STALE|BYPASS`.',
  'Unknown query parameters and body fields are refused with 400.',
  '',
  '**Tenants.** Every `/v1/<path>` operation below also answers as `/v1/tenants/{tenant}/<path>`',
  "for one of the caller's tenants (`GET /v1/tenants` lists them); `/v1/<path>` is the caller's",
  'default tenant. A tenant that does not exist or that the caller may not use: 403',
  '`/problems/tenant-forbidden`. Described once here (and as `x-tenant-prefix`), not as a copy of',
  'every operation: OpenAPI server URLs cannot place a variable between `/v1` and the path.',
].join('\n');

/**
 * The OpenAPI 3 document of /v1, as /docs-json serves it and `npm run openapi` writes it:
 * only /v1 paths, one tag per route group, every key sorted so the text is stable.
 */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  applyApiDecorators(swagger);
  const dtos = controllerParameterTypes(app);
  documentValidatedTypes(dtos);
  const config = new swagger.DocumentBuilder()
    .setTitle('PostHog Integrations BFF')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .setLicense(PACKAGE.license, `https://spdx.org/licenses/${PACKAGE.license}.html`)
    .addServer('/', "This instance (Swagger UI's Try it out, e.g. from the demo).")
    .addServer('http://posthog-bff', 'Inside the cluster: the Service of deploy/k8s (port 80).')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque caller token',
      description: 'A caller token whose sha256 is listed in BFF_CLIENTS.',
    })
    .build();
  const document = swagger.SwaggerModule.createDocument(app, config, {
    extraModels: RESPONSE_MODELS,
    autoTagControllers: false,
  });
  for (const path of Object.keys(document.paths)) {
    if (!path.startsWith('/v1/')) {
      delete document.paths[path];
      continue;
    }
    const tag = TAGS.filter((t) => path.startsWith(t.prefix)).sort(
      (a, b) => b.prefix.length - a.prefix.length,
    )[0];
    if (!tag) continue;
    for (const operation of Object.values(document.paths[path])) {
      if (typeof operation === 'object' && operation !== null && 'responses' in operation) {
        operation.tags = [tag.name];
      }
    }
  }
  document.tags = TAGS.map(({ name, description }) => ({ name, description }));
  (document as OpenAPIObject & { 'x-tenant-prefix': object })['x-tenant-prefix'] = {
    prefix: '/v1/tenants/{tenant}',
    replaces: '/v1',
    tenant: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
    description: "Every /v1 operation but GET /v1/tenants, for one of the caller's tenants.",
  };
  tighten(document, dtos);
  return sortKeys(document);
}

/** Swagger UI at /docs, the OpenAPI 3 document at /docs-json. */
export function setupDocs(app: INestApplication): void {
  let document: OpenAPIObject | undefined;
  swagger.SwaggerModule.setup('docs', app, () => (document ??= buildOpenApi(app)), {
    jsonDocumentUrl: 'docs-json',
  });
}

/** Object keys in code-point order at every depth (arrays keep their order). */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)])) as T;
}

const API_MODEL_PROPERTIES = 'swagger/apiModelProperties';

type Operation = OperationObject & { responses: Record<string, ResponseObject> };

/** Problems any operation can answer, whatever its route: the router, Node's parser, shutdown. */
const SHARED_PROBLEMS: Record<string, string> = {
  '414': 'A path segment longer than 16 384 characters.',
  '415': 'A request body without Content-Type: application/json.',
  '431': "The request's headers are too large.",
  '503': 'The instance is shutting down (Connection: close); retry on another replica.',
};

/**
 * Makes the document say what the service enforces, beyond what the decorators describe:
 * - request bodies refuse unknown fields (additionalProperties: false), integers stay within what
 *   JSON carries exactly, a class's own schema rules (e.g. oneOf) are merged in, and a body is
 *   `required` only where an empty body is refused (some field is required);
 * - a query DTO's rules (x-at-least-one-of) go on the operations whose query it is;
 * - every operation lists the problems answered outside its route (SHARED_PROBLEMS);
 * - every GET has its HEAD (Fastify answers HEAD with the GET's status and headers, no body).
 */
// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
function tighten(document: OpenAPIObject, dtos: Set<Function>): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  const queryRules: Array<Record<string, unknown>> = [];
  for (const dto of dtos) {
    const extra = schemaRules(dto);
    if (!extra) continue;
    if (schemas[dto.name]) Object.assign(schemas[dto.name], extra);
    else queryRules.push(extra); // a query DTO: its rules go on the operations that take it
  }
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'post', 'patch', 'delete'] as const) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const body = operation.requestBody as RequestBodyObject | undefined;
      const ref = (body?.content['application/json']?.schema as ReferenceObject | undefined)?.$ref;
      const schema = ref ? schemas[ref.split('/').pop() as string] : undefined;
      if (body && schema) {
        schema.additionalProperties = false;
        safeIntegers(schema);
        body.required = (schema.required ?? []).length > 0;
      }
      const parameters = (operation.parameters ?? []) as ParameterObject[];
      for (const parameter of parameters) {
        if (parameter.schema) safeIntegers({ properties: { p: parameter.schema } });
      }
      const names = new Set(parameters.map((p) => p.name));
      for (const rules of queryRules) {
        const fields = rules[AT_LEAST_ONE_OF] as string[] | undefined;
        if (fields?.every((f) => names.has(f))) Object.assign(operation, rules);
      }
      const template = operation.responses['400'];
      for (const [status, description] of Object.entries(SHARED_PROBLEMS)) {
        const own = operation.responses[status];
        operation.responses[status] = own
          ? { ...own, description: `${own.description} Or: ${description}` }
          : { ...template, description };
      }
    }
    if (item.get) item.head = headOf(item.get as Operation);
  }
}

/** Integer properties without an upper bound get the largest integer JSON carries exactly. */
function safeIntegers(schema: SchemaObject): void {
  for (const property of Object.values(schema.properties ?? {}) as SchemaObject[]) {
    if (property.type !== 'integer') continue;
    property.maximum ??= Number.MAX_SAFE_INTEGER;
    property.minimum ??= -Number.MAX_SAFE_INTEGER;
  }
}

function headOf(get: Operation): Operation {
  const responses = Object.fromEntries(
    Object.entries(get.responses).map(([status, { description, headers }]) => [
      status,
      { description, headers },
    ]),
  );
  return {
    ...get,
    operationId: `${get.operationId}_head`,
    summary: `${get.summary ?? ''} (headers only)`.trim(),
    description: `The GET's status and headers without its body. ${get.description ?? ''}`.trim(),
    responses,
  };
}

/** The OpenAPI keywords a class-validator rule stands for. */
const RULE_KEYWORDS: Record<string, (constraint: unknown) => Record<string, unknown>> = {
  min: (c) => ({ minimum: c }),
  max: (c) => ({ maximum: c }),
  minLength: (c) => ({ minLength: c }),
  maxLength: (c) => ({ maxLength: c }),
  matches: (c) => ({ pattern: (c as RegExp).source }),
  isUuid: () => ({ format: 'uuid' }),
  isFqdn: () => ({ format: 'hostname' }),
  isUrl: () => ({ format: 'uri' }),
  isIn: (c) => ({ enum: c }),
};

/**
 * What the DTOs' class-validator rules say, written into their Swagger metadata where the
 * @ApiProperty options leave it out: integers (@IsInt) as `integer` rather than `number`, bounds,
 * patterns (not blank, relative path), formats (uuid, hostname, uri) and enums. The validators
 * stay the one source of truth.
 */
// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
function documentValidatedTypes(dtos: Iterable<Function>): void {
  const storage = getMetadataStorage();
  for (const dto of dtos) {
    for (const rule of storage.getTargetValidationMetadatas(dto, '', true, false)) {
      const key = rule.propertyName;
      const options = Reflect.getMetadata(API_MODEL_PROPERTIES, dto.prototype, key);
      if (!options) continue;
      const next = { ...options };
      if (rule.name === 'isInt') {
        if (next.type === Number || next.type === 'number') next.type = 'integer';
      }
      const keywords = RULE_KEYWORDS[rule.name ?? '']?.(rule.constraints?.[0]) ?? {};
      for (const [keyword, value] of Object.entries(keywords)) next[keyword] ??= value;
      Reflect.defineMetadata(API_MODEL_PROPERTIES, next, dto.prototype, key);
    }
  }
}

// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
function controllerParameterTypes(app: INestApplication): Set<Function> {
  // biome-ignore lint/complexity/noBannedTypes: see above
  const types = new Set<Function>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const prototype = (wrapper.metatype as { prototype?: object } | null)?.prototype;
      if (!prototype) continue;
      for (const method of Object.getOwnPropertyNames(prototype)) {
        const params: unknown[] = Reflect.getMetadata('design:paramtypes', prototype, method) ?? [];
        for (const type of params) if (typeof type === 'function') types.add(type);
      }
    }
  }
  return types;
}
