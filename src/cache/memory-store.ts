import { LRUCache } from 'lru-cache';

/** What Keyv hands its store (serialize off: the object itself, no JSON round trip per hit). */
interface Held {
  value: { body: Buffer };
  expires?: number;
}

/**
 * The in-process tier (L1): a Keyv store on an LRU bounded by entry count and by bytes. It answers
 * an entry only while it is fresh (Keyv's `expires`), so cache-manager reads the next tier (Redis)
 * when this copy has expired and a fresher one stored by another replica wins. The expired copy
 * is kept CACHE_STALE_SECONDS longer (space permitting) as this replica's answer for when PostHog
 * fails: `stale()`.
 */
export class MemoryStore {
  private readonly lru: LRUCache<string, Held>;
  /** Entries pushed out to stay within CACHE_MAX_ENTRIES / CACHE_MAX_BYTES. */
  evictions = 0;

  constructor(
    maxEntries: number,
    maxBytes: number,
    private readonly staleMs: number,
  ) {
    this.lru = new LRUCache<string, Held>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (held) => held.value.body.length + 128,
      dispose: (_held, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  get(key: string): Held | undefined {
    const held = this.lru.get(key);
    return held && (held.expires === undefined || held.expires > Date.now()) ? held : undefined;
  }

  set(key: string, held: Held, ttl?: number): boolean {
    this.lru.set(key, held, { ttl: ttl && ttl > 0 ? ttl + this.staleMs : undefined });
    return true;
  }

  /** An entry that is never fresh (CACHE_TTL_SECONDS=0) is still kept for failures. */
  keepStale(key: string, value: Held['value']): void {
    if (this.staleMs > 0) this.lru.set(key, { value, expires: Date.now() }, { ttl: this.staleMs });
  }

  /** The copy held for `key`, fresh or within CACHE_STALE_SECONDS past its freshness. */
  stale<T>(key: string): T | undefined {
    return this.lru.get(key)?.value as T | undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
