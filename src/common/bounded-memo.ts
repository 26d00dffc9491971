/**
 * Values derived from a string key, remembered for the hot path: at most `maxEntries` of them,
 * started afresh when full, and keys longer than `maxKeyLength` are not kept (a caller's long
 * URLs, up to Node's 16 KiB header limit, would otherwise hold tens of MB).
 */
export class BoundedMemo<V> {
  private readonly values = new Map<string, V>();

  constructor(
    private readonly maxEntries = 2048,
    private readonly maxKeyLength = 512,
  ) {}

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > this.maxKeyLength) return;
    if (this.values.size >= this.maxEntries) this.values.clear();
    this.values.set(key, value);
  }
}
