// Parsed-and-planned reads, keyed by everything that shapes the statement (path, query
// string, Accept, Prefer, Range, schema). One small LRU per schema-cache generation, so a
// reload drops every plan built against the old catalog.
import type { SchemaCache } from './schema-cache.js';

const MAX_ENTRIES = 500;

export class PlanCache<V> {
    private readonly generations = new WeakMap<SchemaCache, Map<string, V>>();

    get(cache: SchemaCache, key: string): V | undefined {
        const map = this.generations.get(cache);
        const hit = map?.get(key);
        if (hit !== undefined) {
            // refresh recency
            map!.delete(key);
            map!.set(key, hit);
        }
        return hit;
    }

    set(cache: SchemaCache, key: string, value: V): void {
        let map = this.generations.get(cache);
        if (!map) this.generations.set(cache, (map = new Map()));
        map.set(key, value);
        if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
    }
}
