import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { RESPONSE_MODELS } from './problem.schema';

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
].join('\n');

/**
 * The OpenAPI 3 document of /v1, as /docs-json serves it and `npm run openapi` writes it:
 * only /v1 paths, one tag per route group, every key sorted so the text is stable.
 */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  documentValidatedTypes(app);
  const config = new DocumentBuilder()
    .setTitle('PostHog Integrations BFF')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .setLicense(PACKAGE.license, `https://spdx.org/licenses/${PACKAGE.license}.html`)
    .addServer('http://posthog-bff', 'Inside the cluster: the Service of deploy/k8s (port 80).')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque caller token',
      description: 'A caller token whose sha256 is listed in BFF_CLIENTS.',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
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
  return sortKeys(document);
}

/** Swagger UI at /docs, the OpenAPI 3 document at /docs-json. */
export function setupDocs(app: INestApplication): void {
  let document: OpenAPIObject | undefined;
  SwaggerModule.setup('docs', app, () => (document ??= buildOpenApi(app)), {
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

/**
 * What the DTOs' class-validator rules say, written into their Swagger metadata where the
 * @ApiProperty options leave it out: integers (@IsInt) as `integer` rather than `number`, and
 * @Min / @Max / @MaxLength bounds. The validators stay the one source of truth.
 */
function documentValidatedTypes(app: INestApplication): void {
  const storage = getMetadataStorage();
  for (const dto of controllerParameterTypes(app)) {
    for (const rule of storage.getTargetValidationMetadatas(dto, '', true, false)) {
      const key = rule.propertyName;
      const options = Reflect.getMetadata(API_MODEL_PROPERTIES, dto.prototype, key);
      if (!options) continue;
      const next = { ...options };
      const bound = rule.constraints?.[0];
      if (rule.name === 'isInt' && (next.type === Number || next.type === 'number')) {
        next.type = 'integer';
      } else if (rule.name === 'min' && next.minimum === undefined) next.minimum = bound;
      else if (rule.name === 'max' && next.maximum === undefined) next.maximum = bound;
      else if (rule.name === 'maxLength' && next.maxLength === undefined) next.maxLength = bound;
      else continue;
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
