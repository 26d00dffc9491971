/** Every missing or malformed setting found; main.ts prints one line per problem. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = [problems].flat();
    super(list.join('\n'));
    this.problems = list;
  }
}
