import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemSchema } from './problem.schema';

export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('PostHog Integrations BFF')
    .setDescription(
      "Internal API in front of PostHog's Integrations API. Every /v1 route needs " +
        '`Authorization: Bearer <caller token>` with the scope named on the route. Errors are ' +
        'RFC 9457 `application/problem+json`. GETs answer `X-Cache: HIT|MISS|STALE|BYPASS`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Caller token (BFF_CLIENTS)' })
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemSchema] });
}

/** Swagger UI at /docs, the OpenAPI 3 document at /docs-json. */
export function setupDocs(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApi(app), { jsonDocumentUrl: 'docs-json' });
}
