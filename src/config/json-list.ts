import { type ClassConstructor, plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { ConfigError } from './config-error';

/**
 * A JSON array of entries checked by a class-validator schema, as the caller list and the tenants
 * file are written: every problem of every entry is reported at once, each line naming the entry
 * (`<source>[i]`) and the field; fields the schema does not declare are refused.
 */
export interface ListSchema<Entry extends object, Value> {
  entry: ClassConstructor<Entry>;
  /** What the list holds, for "must be a non-empty JSON array of <noun>". */
  noun: string;
  /** Checks across fields of one entry; one line each. */
  check?(entry: Entry, where: string): string[];
  toValue(entry: Entry): Value;
  /** The line naming an earlier value this one clashes with (a duplicate), if any. */
  clash?(value: Value, before: Value[], where: string): string | undefined;
}

export function parseJsonList<Entry extends object, Value>(
  json: string,
  source: string,
  schema: ListSchema<Entry, Value>,
): Value[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source} is not valid JSON`);
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(`${source} must be a non-empty JSON array of ${schema.noun}`);
  }
  const fields = fieldsOf(schema.entry);
  const problems: string[] = [];
  const values: Value[] = [];
  list.forEach((raw: unknown, i) => {
    const where = `${source}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const entry = plainToInstance(schema.entry, raw);
    const found = [
      // Read from the raw entry: class-transformer drops keys such as "constructor" unseen.
      ...Object.keys(raw)
        .filter((field) => !fields.has(field))
        .map((field) => `${where} has an unknown field: ${field}`),
      ...validateSync(entry, { stopAtFirstError: true }).map(
        ({ constraints = {} }) => `${where}.${Object.values(constraints)[0]}`,
      ),
    ];
    if (found.length === 0) found.push(...(schema.check?.(entry, where) ?? []));
    if (found.length > 0) {
      problems.push(...found);
      return;
    }
    const value = schema.toValue(entry);
    const clash = schema.clash?.(value, values, where);
    if (clash) problems.push(clash);
    else values.push(value);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}

/** The fields an entry may have: those its class declares. */
function fieldsOf(entry: ClassConstructor<object>): Set<string> {
  return new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(entry, '', true, false)
      .map((rule) => rule.propertyName),
  );
}
