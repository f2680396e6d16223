// @tillbase/sdk on Node. Node 20 has no global WebSocket, and supabase-js's realtime
// client throws "native WebSocket not found" when it is made without one: here the `ws`
// package is the transport unless the caller gave one or the runtime has its own.
// (Bundlers targeting browsers resolve the package to index.ts and never see `ws`.)
import WebSocket from 'ws';
import { createTillbaseClientWith, type TillbaseClient, type TillbaseClientOptions } from './client.ts';

export * from './exports.ts';

type RealtimeOptions = NonNullable<NonNullable<TillbaseClientOptions['supabase']>['realtime']>;

/** A Tillbase client for the project at `url` with its anon (or publishable) key. */
export function createTillbaseClient(url: string, key: string, options: TillbaseClientOptions = {}): TillbaseClient {
    const realtime: RealtimeOptions = options.supabase?.realtime ?? {};
    const hasNativeWebSocket = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
    if (realtime.transport || hasNativeWebSocket) return createTillbaseClientWith(url, key, options);
    return createTillbaseClientWith(url, key, {
        ...options,
        supabase: { ...options.supabase, realtime: { ...realtime, transport: WebSocket as unknown as NonNullable<RealtimeOptions['transport']> } },
    });
}
