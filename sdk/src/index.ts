// @tillbase/sdk for browsers, bundlers and runtimes with a WebSocket (Deno, Bun, Node 22+).
// Node (20+) resolves the package to node.ts instead, which brings `ws` where needed.
import { createTillbaseClientWith, type TillbaseClient, type TillbaseClientOptions } from './client.ts';

export * from './exports.ts';

/** A Tillbase client for the project at `url` with its anon (or publishable) key. */
export function createTillbaseClient(url: string, key: string, options?: TillbaseClientOptions): TillbaseClient {
    return createTillbaseClientWith(url, key, options);
}
