// The auth service for a test file: its own cloned database, a fixture project's [auth]
// settings, the mail catcher, a movable clock, and supabase-js clients pointed at it.
import path from 'node:path';
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import { afterAll, beforeAll } from 'vitest';
import { createAuthService } from '../../stack/auth/index.js';
import { createGateway } from '../../stack/gateway/index.js';
import { apiKeysFor } from '../../stack/gateway/keys.js';
import { loadProjectConfig } from '../../stack/config.js';
import { listen, type FetchHandler, type Listening } from '../../stack/http.js';
import { jwtKeysFromConfig, type JwtKeys } from '../../stack/jwt.js';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { createMailCatcher, type StoredMessage } from '../../stack/mail/index.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { useTestDatabase, type TestDatabase } from './db.js';
import { fetchFrom } from './source-address.js';

type Transport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/** Node 20 has no global WebSocket; realtime is never used here. */
class NoWebSocket {
    constructor() {
        throw new Error('realtime is not available in these tests');
    }
}
const realtime = { transport: NoWebSocket as unknown as Transport };

/** A project under test/fixtures/auth, or `product`: the repository's own supabase/config.toml. */
export type AuthFixture = 'confirm-off' | 'confirm-on' | 'hook' | 'limits' | 'signing-keys' | 'verify' | 'redirects' | 'features' | 'deprecated' | 'product';

export interface MailReader {
    all(): StoredMessage[];
    /** Newest message to `address` (throws when none). */
    latest(address: string): StoredMessage;
    count(address: string): number;
    /** The /verify link of a message. */
    link(message: StoredMessage): string;
    /** The one-time code of a message. */
    otp(message: StoredMessage): string;
    clear(): void;
}

export interface AuthHarness {
    db: TestDatabase;
    /** Base URL as supabase-js expects it (auth under /auth/v1). */
    readonly url: string;
    readonly jwt: JwtKeys;
    mail: MailReader;
    /** Moves the service's clock forward. */
    advance(ms: number): void;
    now(): Date;
    /** A fresh browser-like client (anon key, in-memory storage, no auto refresh), optionally connecting from another loopback IP. */
    client(options?: { flowType?: 'implicit' | 'pkce'; key?: string; from?: string }): SupabaseClient;
    admin(): SupabaseClient;
    /** Raw request to /auth/v1 + path (from `from`, a loopback IP, when given). */
    fetch(path: string, init?: RequestInit, from?: string): Promise<Response>;
    /** The Supabase CLI warnings the fixture's config.toml produced at start (config file and [auth]). */
    readonly warnings: string[];
}

export interface AuthHarnessOptions {
    /** Serve through the stack's API gateway (opaque keys, header rewriting) instead of a bare prefix strip. */
    gateway?: boolean;
}

export function useAuthService(fixture: AuthFixture, setup?: (db: TestDatabase) => Promise<void>, options: AuthHarnessOptions = {}): AuthHarness {
    const db = useTestDatabase();
    const catcher = createMailCatcher();
    let offset = 0;
    const now = () => new Date(Date.now() + offset);
    let listening: Listening | undefined;
    let close: (() => Promise<void>) | undefined;
    let jwt: JwtKeys | undefined;
    const warnings: string[] = [];

    beforeAll(async () => {
        if (setup) await setup(db);
        const config = loadProjectConfig(fixture === 'product' ? PROJECT_ROOT : path.join(PROJECT_ROOT, 'test/fixtures/auth', fixture));
        warnings.push(...config.warnings);
        jwt = jwtKeysFromConfig(config);
        let inner: FetchHandler = async () => new Response('starting', { status: 503 });
        const stripPrefix: FetchHandler = async (request, info) => {
            const url = new URL(request.url);
            if (!url.pathname.startsWith('/auth/v1')) return new Response('not found', { status: 404 });
            url.pathname = url.pathname.slice('/auth/v1'.length) || '/';
            return inner(new Request(url, request), info);
        };
        const front: FetchHandler = options.gateway
            ? createGateway({ routes: { '/auth/v1': (request, info) => inner(request, info) }, keys: await apiKeysFor(jwt), jwt, accessLog: () => {} })
            : stripPrefix;
        listening = await listen(front, { port: 0 });
        const service = await createAuthService({ dbUrl: db.url, config, jwt, publicUrl: `${listening.url}/auth/v1`, mail: catcher, now, warn: (m) => warnings.push(m) });
        inner = service.handler;
        close = service.close;
    });

    afterAll(async () => {
        await listening?.close();
        await close?.();
    });

    const to = (address: string) => catcher.messages().filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase()));
    const mail: MailReader = {
        all: () => catcher.messages(),
        latest(address) {
            const message = to(address)[0];
            if (!message) throw new Error(`no mail to ${address}`);
            return message;
        },
        count: (address) => to(address).length,
        link(message) {
            const match = /href="([^"]+\/verify\?[^"]+)"/.exec(message.html);
            if (!match) throw new Error(`no verify link in mail "${message.subject}"`);
            return match[1]!.replaceAll('&amp;', '&');
        },
        otp(message) {
            const match = /code: (\d+)/.exec(message.text);
            if (!match) throw new Error(`no code in mail "${message.subject}"`);
            return match[1]!;
        },
        clear: () => catcher.clear(),
    };

    const started = () => {
        if (!listening) throw new Error('the auth service is used before beforeAll ran');
        return listening;
    };

    return {
        db,
        get url() {
            return started().url;
        },
        get jwt() {
            if (!jwt) throw new Error('not started');
            return jwt;
        },
        mail,
        advance(ms) {
            offset += ms;
        },
        now,
        client: (clientOptions = {}) =>
            createClient(started().url, clientOptions.key ?? LOCAL_ANON_KEY, {
                auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, flowType: clientOptions.flowType ?? 'implicit' },
                realtime,
                ...(clientOptions.from ? { global: { fetch: fetchFrom(clientOptions.from) } } : {}),
            }),
        admin: () =>
            createClient(started().url, LOCAL_SERVICE_ROLE_KEY, {
                auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
                realtime,
            }),
        warnings,
        fetch: (p, init, from) =>
            (from ? fetchFrom(from) : fetch)(`${started().url}/auth/v1${p}`, { ...init, headers: { apikey: LOCAL_ANON_KEY, ...(init?.headers ?? {}) } }),
    };
}

/** Unique address per test. */
export function email(tag = 'user'): string {
    return `${tag}-${Math.random().toString(36).slice(2, 10)}@example.test`;
}
