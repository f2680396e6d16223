// The realtime service behind the real gateway on a free port, for one test database,
// and supabase-js clients that reach it over WebSockets (`ws`, Node 20 has none).
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { createGateway, createGatewayUpgrade } from '../../stack/gateway/index.js';
import { apiKeysFor, type ApiKeys } from '../../stack/gateway/keys.js';
import { listen, type Listening } from '../../stack/http.js';
import type { JwtKeys } from '../../stack/jwt.js';
import { LOCAL_JWT_SECRET } from '../../stack/keys.js';
import { ManualClock } from '../../stack/realtime/clock.js';
import { createRealtimeService, type RealtimeService } from '../../stack/realtime/index.js';
import type { TestDatabase } from './db.js';
import { signJwt } from './rest.js';

export const TEST_JWT: JwtKeys = { secret: LOCAL_JWT_SECRET, signingKeys: [] };

export interface RealtimeStack {
    readonly url: string;
    readonly keys: ApiKeys;
    readonly service: RealtimeService;
    /** The service's clock: token expiry is judged by it. */
    readonly clock: ManualClock;
    /** A supabase-js client; `token` is the user's access token (else the key acts). */
    client(options?: { key?: string; token?: string; vsn?: '1.0.0' | '2.0.0' }): SupabaseClient;
    /** Stops the gateway and the service (clients reconnect when `start` runs again). */
    stop(): Promise<void>;
    start(): Promise<void>;
}

export interface RunningGateway {
    listening: Listening;
    service: RealtimeService;
}

/** Starts the realtime service for `dbUrl` behind a gateway on `port` (0 = any). */
export async function startRealtimeGateway(dbUrl: string, clock: ManualClock | undefined, port = 0): Promise<RunningGateway> {
    const keys = await apiKeysFor(TEST_JWT);
    const service = await createRealtimeService({ dbUrl, jwt: TEST_JWT, clock, pollIntervalMs: 10, log: process.env.REALTIME_TEST_LOG ? (e) => console.error(JSON.stringify(e)) : () => {} });
    const listening = await listen(createGateway({ routes: { '/realtime/v1': service.handler }, keys, jwt: TEST_JWT, accessLog: () => {} }), {
        port,
        upgrade: createGatewayUpgrade({ routes: { '/realtime/v1': service.upgrade }, keys, jwt: TEST_JWT, accessLog: () => {} }),
    });
    return { listening, service };
}

export function useRealtime(db: TestDatabase): RealtimeStack {
    const clock = new ManualClock();
    let running: RunningGateway | undefined;
    let port = 0;
    let keys: ApiKeys | undefined;
    const clients: SupabaseClient[] = [];

    const start = async () => {
        running = await startRealtimeGateway(db.url, clock, port);
        port = running.listening.port;
    };
    const stop = async () => {
        const r = running;
        running = undefined;
        await r?.service.close();
        await r?.listening.close();
    };

    beforeAll(async () => {
        keys = await apiKeysFor(TEST_JWT);
        await start();
    });
    afterAll(async () => {
        await Promise.all(clients.map((c) => c.removeAllChannels().catch(() => {})));
        await stop();
    });

    return {
        get url() {
            return `http://127.0.0.1:${port}`;
        },
        get keys() {
            return keys!;
        },
        get service() {
            if (!running) throw new Error('realtime is not running');
            return running.service;
        },
        clock,
        client(options = {}) {
            const client = createClient(`http://127.0.0.1:${port}`, options.key ?? keys!.anon, {
                auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
                // The signed-in user's token, as supabase-js hands a session's token to realtime.
                accessToken: options.token ? async () => options.token! : undefined,
                realtime: {
                    transport: WebSocket as never,
                    ...(options.vsn ? { vsn: options.vsn } : {}),
                    // Reconnect quickly in tests (the default waits 1 s, 2 s, 5 s, 10 s).
                    reconnectAfterMs: () => 200,
                },
            });
            // As an app does after sign-in; set before any join so the join carries it.
            if (options.token) void client.realtime.setAuth(options.token);
            clients.push(client);
            return client;
        },
        stop,
        start,
    };
}

/** An access token for a user's claims (signed with the project's secret). */
export function accessToken(claims: Record<string, unknown>): Promise<string> {
    return signJwt(claims);
}

/**
 * Subscribes and resolves once it is SUBSCRIBED (rejects on anything else). The join
 * timeout is longer than supabase-js's 10 s: a socket's joins are answered one after
 * another, and hundreds of them on a loaded machine take a while.
 */
export function subscribed(channel: RealtimeChannel, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
        channel.subscribe((status, error) => {
            if (status === 'SUBSCRIBED') resolve();
            else if (status !== 'CLOSED') reject(new Error(`${status}: ${error?.message ?? ''}`));
        }, timeoutMs);
    });
}

/** Subscribes and resolves with the first non-SUBSCRIBED status and its error. */
export function subscribeOutcome(channel: RealtimeChannel): Promise<{ status: string; message?: string }> {
    return new Promise((resolve) => {
        channel.subscribe((status, error) => resolve({ status, message: error?.message }));
    });
}

/** Collects what a callback receives; `next(n)` waits until at least n items arrived. */
export class Inbox<T> {
    readonly items: T[] = [];
    private waiters: Array<{ n: number; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];

    readonly push = (item: T): void => {
        this.items.push(item);
        this.waiters = this.waiters.filter((w) => {
            if (this.items.length < w.n) return true;
            clearTimeout(w.timer);
            w.resolve();
            return false;
        });
    };

    /** Waits for `n` items in total; fails after `timeoutMs` naming how many came. */
    async count(n: number, timeoutMs = 15_000): Promise<T[]> {
        if (this.items.length >= n) return this.items;
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`expected ${n} messages, got ${this.items.length}`)), timeoutMs);
            this.waiters.push({ n, resolve, reject, timer });
        });
        return this.items;
    }
}
