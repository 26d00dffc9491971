const SCHEMA_RULES = 'bff:schema-rules';

/**
 * Query parameters of which at least one is required: OpenAPI 3.0 cannot say it of parameters, so
 * the operation carries this extension (and the parameters' descriptions say it in prose).
 */
export const AT_LEAST_ONE_OF = 'x-at-least-one-of';

/**
 * JSON Schema keywords for a whole DTO that its property decorators cannot say, e.g. the `oneOf`
 * of a field required only for one value of another, or AT_LEAST_ONE_OF on a query DTO. Merged into the DTO's schema by the document
 * builder; the validation itself stays in the DTO's class-validator rules.
 */
export function ApiSchemaRules(rules: Record<string, unknown>): ClassDecorator {
  return (target) => Reflect.defineMetadata(SCHEMA_RULES, rules, target);
}

// biome-ignore lint/complexity/noBannedTypes: DTO classes are plain constructors here
export function schemaRules(dto: Function): Record<string, unknown> | undefined {
  return Reflect.getMetadata(SCHEMA_RULES, dto);
}
