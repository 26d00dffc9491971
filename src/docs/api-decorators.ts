/**
 * The OpenAPI decorators of the DTOs and controllers, without loading @nestjs/swagger (about a
 * hundred modules, see docs/performance.md) in a service started with DOCS_ENABLED=false.
 *
 * Each decorator only records its call. The document builder (./swagger.ts, loaded only when
 * docs are on or the document is written) hands @nestjs/swagger to applyApiDecorators, which
 * applies swagger's own decorators to the same targets, with the same arguments, in the same
 * order: the metadata, and so the document, are exactly what they would have made at load.
 */
import type * as swagger from '@nestjs/swagger';

type Swagger = typeof swagger;
type Deferred =
  | 'ApiBearerAuth'
  | 'ApiExcludeController'
  | 'ApiExtension'
  | 'ApiExtraModels'
  | 'ApiOperation'
  | 'ApiProperty'
  | 'ApiPropertyOptional'
  | 'ApiResponse'
  | 'ApiSchema';
type AnyDecorator = (
  target: object,
  key?: string | symbol,
  descriptor?: PropertyDescriptor,
) => void;

const pending: Array<(swagger: Swagger) => void> = [];

/** Swagger's decorator `name`, applied only when applyApiDecorators runs. */
function deferred<K extends Deferred>(name: K): Swagger[K] {
  const decorator =
    (...args: unknown[]): AnyDecorator =>
    (target, key, descriptor) => {
      pending.push((swagger) => {
        const real = swagger[name] as unknown as (...args: unknown[]) => AnyDecorator;
        real(...args)(target, key, descriptor);
      });
    };
  return decorator as unknown as Swagger[K];
}

/** Applies every decorator recorded so far with @nestjs/swagger's own, once each. */
export function applyApiDecorators(swagger: Swagger): void {
  for (const apply of pending.splice(0)) apply(swagger);
}

export const ApiBearerAuth = deferred('ApiBearerAuth');
export const ApiExcludeController = deferred('ApiExcludeController');
export const ApiExtension = deferred('ApiExtension');
export const ApiExtraModels = deferred('ApiExtraModels');
export const ApiOperation = deferred('ApiOperation');
export const ApiProperty = deferred('ApiProperty');
export const ApiPropertyOptional = deferred('ApiPropertyOptional');
export const ApiResponse = deferred('ApiResponse');

/**
 * Schema names given by ApiSchema, known at once: decorators read getSchemaPath's answer when
 * they are declared, before swagger's ApiSchema has run.
 */
// biome-ignore lint/complexity/noBannedTypes: schema models are plain constructors
const schemaNames = new WeakMap<Function, string>();
const swaggerApiSchema = deferred('ApiSchema');

export const ApiSchema =
  (options?: swagger.ApiSchemaOptions): ClassDecorator =>
  (target) => {
    schemaNames.set(target, options?.name ?? target.name);
    swaggerApiSchema(options)(target);
  };

/** What @nestjs/swagger's getSchemaPath answers: the last ApiSchema name, else the class name. */
// biome-ignore lint/complexity/noBannedTypes: schema models are plain constructors
export function getSchemaPath(model: string | Function): string {
  const name = typeof model === 'string' ? model : (schemaNames.get(model) ?? model.name);
  return `#/components/schemas/${name}`;
}
