// The local stack for one test file, as `npm start` wires it, on free ports: a cloned
// test database, REST, auth (with the mail catcher), the project's edge functions on
// real Deno, all behind the gateway — plus the Stripe fake delivering signed webhooks to
// /functions/v1/stripe-webhook. Reusable by any suite that needs "the stack with these
// functions": functions start lazily on their first request, as in `npm start`.
//
//   const stack = useStack();
//   const ada = await stack.customer();            // signed-in supabase-js client
//   await ada.client.functions.invoke('checkout', { body: … });
//
// Options: extra function env (applied over the project's secrets), a database proxy
// the test can cut (`dbProxy`: only the functions' connections go through it), the
// Stripe fake's retry schedule, and the optional services: Realtime (websockets through
// the gateway), Storage (files in a temporary directory) and an SMTP listener that the
// functions send mail to (the notifications worker). Every mail — auth's and the
// functions' — lands in `stack.mail`. The Stripe fake's clock is `stack.clock`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type http from 'node:http';
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import * as OTPAuth from 'otpauth';
import Stripe from 'stripe';
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../sdk/database.types.js';
import { createAuthService, type AuthService } from '../../stack/auth/index.js';
import { loadProjectConfig, type ProjectConfig } from '../../stack/config.js';
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, startStripeFake, type RunningStripeFake, type StripeFakeOptions } from '../../stack/fakes/stripe/index.js';
import { createFunctionsService, type FunctionsService, type LogEntry } from '../../stack/functions/index.js';
import { createGateway, createGatewayUpgrade } from '../../stack/gateway/index.js';
import { apiKeysFor, type ApiKeys } from '../../stack/gateway/keys.js';
import { listen, type FetchHandler, type Listening, type RequestInfo, type UpgradeHandler } from '../../stack/http.js';
import { jwtKeysFromConfig, type JwtKeys } from '../../stack/jwt.js';
import { createMailCatcher, type MailCatcher } from '../../stack/mail/index.js';
import { startSmtpListener, type SmtpListener } from '../../stack/mail/smtp.js';
import { createRealtimeService, type RealtimeService } from '../../stack/realtime/index.js';
import { createStorageService, type StorageService } from '../../stack/storage/index.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { createRestService, type RestService } from '../../stack/rest/index.js';
import { startDbProxy, type DbProxy } from './db-proxy.js';
import { useTestDatabase, type TestDatabase } from './db.js';

type Transport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/** Node 20 has no global WebSocket; realtime is not used through this harness. */
class NoWebSocket {
    constructor() {
        throw new Error('realtime is not available in these tests');
    }
}
export const NO_REALTIME = { transport: NoWebSocket as unknown as Transport };

export type Client = SupabaseClient<Database>;

export interface SignedIn {
    userId: string;
    email: string;
    client: Client;
    /** The current access token. */
    token(): Promise<string>;
}

export interface StackOptions {
    /** Variables for every function, over the project's secrets (the Stripe fake's are set already). */
    env?: Record<string, string>;
    /** Put a cuttable proxy between the functions and the database (`stack.dbProxy`). */
    dbProxy?: boolean;
    /** Options of the Stripe fake (retry schedule, …). */
    stripe?: Partial<StripeFakeOptions>;
    /** Runs on the database before the services start. */
    setup?: (db: TestDatabase) => Promise<void>;
    /** Serve /realtime/v1 (websockets through the gateway). */
    realtime?: boolean;
    /** Serve /storage/v1 (the project's buckets; files in a temporary directory). */
    storage?: boolean;
    /** Give the functions an SMTP server (SMTP_HOST/PORT) whose mail lands in `stack.mail`. */
    smtp?: boolean;
}

/** A new user's password sign-in, made through the Auth admin API (email confirmed). */
export interface Credentials {
    userId: string;
    email: string;
    password: string;
}

export interface StackHarness {
    db: TestDatabase;
    /** The gateway, as SUPABASE_URL. */
    readonly url: string;
    readonly keys: ApiKeys;
    readonly jwt: JwtKeys;
    readonly stripe: RunningStripeFake;
    /** The Stripe fake's clock: `advance(ms)` moves it (sessions expire on `stripe.tick()`). */
    clock: { now(): number; advance(ms: number): void };
    readonly webhookSecret: string;
    /** Every line the functions logged (and the functions service's own lines). */
    functionLogs: LogEntry[];
    readonly dbProxy: DbProxy;
    anon(): Client;
    service(): Client;
    /** The official Stripe SDK pointed at the fake, with the stack's secret key. */
    stripeSdk(options?: { maxNetworkRetries?: number }): Stripe;
    /** A new customer, signed in through /auth/v1 with a password. */
    customer(tag?: string): Promise<SignedIn>;
    /** A new staff member of `role`, signed in; with `mfa`, raised to aal2 with a TOTP factor. */
    staff(role: 'support' | 'warehouse' | 'finance' | 'admin', options?: { mfa?: boolean }): Promise<SignedIn>;
    /** Every mail the stack sent: auth's, and the functions' when `smtp` is on. */
    readonly mail: MailCatcher;
    /** A new confirmed user (not signed in), for clients that sign in themselves. */
    user(tag?: string): Promise<Credentials>;
    /** A new staff member of `role` (not signed in, no MFA factor). */
    staffUser(role: 'support' | 'warehouse' | 'finance' | 'admin'): Promise<Credentials>;
    /** POST /functions/v1/<name> with a JSON body and a bearer token; the status and the parsed body. */
    call<T = Record<string, unknown>>(name: string, body: unknown, token?: string): Promise<{ status: number; body: T }>;
}

const PASSWORD = 'stack-harness-password-1';
const denoDir = path.join(os.tmpdir(), `tillbase-test-deno-${process.getuid?.() ?? 'user'}`);

/** The repository's project, with auth's per-IP limits lifted (many sign-ins come from 127.0.0.1 here). */
function projectConfig(): ProjectConfig {
    const config = loadProjectConfig(PROJECT_ROOT);
    const rateLimit = { ...((config.auth.rate_limit as Record<string, unknown>) ?? {}), sign_in_sign_ups: 100_000, token_refresh: 100_000, token_verifications: 100_000 };
    return { ...config, auth: { ...config.auth, rate_limit: rateLimit } };
}

export function useStack(options: StackOptions = {}): StackHarness {
    const db = useTestDatabase();
    let gateway: Listening | undefined;
    let rest: RestService | undefined;
    let auth: AuthService | undefined;
    let functions: FunctionsService | undefined;
    let stripe: RunningStripeFake | undefined;
    let proxy: DbProxy | undefined;
    let realtime: RealtimeService | undefined;
    let storage: StorageService | undefined;
    let smtp: SmtpListener | undefined;
    const storageDir = options.storage ? fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-stack-storage-')) : undefined;
    const mail = createMailCatcher();
    let keys: ApiKeys | undefined;
    let jwt: JwtKeys | undefined;
    let offset = 0;
    const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
    const functionLogs: LogEntry[] = [];

    beforeAll(async () => {
        if (options.setup) await options.setup(db);
        const config = projectConfig();
        jwt = jwtKeysFromConfig(config);
        keys = await apiKeysFor(jwt);
        // The gateway's port first (the services need its URL), its routes once they run.
        let front: FetchHandler = async () => new Response('starting', { status: 503 });
        let upgradeFront: UpgradeHandler = (_request: http.IncomingMessage, socket: Duplex) => void socket.destroy();
        gateway = await listen((request, info) => front(request, info), {
            port: 0,
            upgrade: (request: http.IncomingMessage, socket: Duplex, head: Buffer, info: RequestInfo) => upgradeFront(request, socket, head, info),
            streamBodies: (pathname) => pathname.startsWith('/storage/v1/'),
        });
        const apiUrl = gateway.url;
        stripe = await startStripeFake({
            port: 0,
            now: clock.now,
            sweepIntervalMs: 0,
            endpoints: [{ url: `${apiUrl}/functions/v1/stripe-webhook`, secret: LOCAL_STRIPE_WEBHOOK_SECRET }],
            retryDelaysMs: [100, 200, 400, 800, 1_600, 3_200],
            ...options.stripe,
        });
        proxy = options.dbProxy ? await startDbProxy(db.url) : undefined;
        rest = await createRestService({ dbUrl: db.url, config, jwt });
        auth = await createAuthService({ dbUrl: db.url, config, jwt, publicUrl: `${apiUrl}/auth/v1`, mail });
        smtp = options.smtp ? await startSmtpListener(mail, { port: 0 }) : undefined;
        realtime = options.realtime ? await createRealtimeService({ dbUrl: db.url, jwt, pollIntervalMs: 10, log: () => {} }) : undefined;
        storage = storageDir ? await createStorageService({ dbUrl: db.url, config, jwt, dataDir: storageDir, log: () => {}, seed: false }) : undefined;
        fs.mkdirSync(denoDir, { recursive: true });
        functions = await createFunctionsService({
            config,
            jwt,
            keys,
            apiUrl,
            dbUrl: proxy?.url ?? db.url,
            denoDir,
            log: (entry) => functionLogs.push(entry),
            env: {
                STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
                STRIPE_WEBHOOK_SECRET: LOCAL_STRIPE_WEBHOOK_SECRET,
                STRIPE_API_URL: stripe.url,
                ...(smtp ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) } : {}),
                ...options.env,
            },
        });
        const routes: Record<string, FetchHandler> = { '/rest/v1': rest.handler, '/auth/v1': auth.handler, '/functions/v1': functions.handler };
        if (realtime) routes['/realtime/v1'] = realtime.handler;
        if (storage) routes['/storage/v1'] = storage.handler;
        front = createGateway({ routes, keys, jwt, accessLog: () => {} });
        if (realtime) upgradeFront = createGatewayUpgrade({ routes: { '/realtime/v1': realtime.upgrade }, keys, jwt, accessLog: () => {} });
    });

    afterAll(async () => {
        await stripe?.close();
        await functions?.close();
        await gateway?.close();
        await rest?.close();
        await auth?.close();
        await realtime?.close();
        await storage?.close();
        await smtp?.close();
        await proxy?.close();
        if (storageDir) fs.rmSync(storageDir, { recursive: true, force: true });
    });

    const ready = <T>(value: T | undefined, what: string): T => {
        if (value === undefined) throw new Error(`the stack's ${what} is used before beforeAll ran`);
        return value;
    };
    const client = (key: string): Client =>
        createClient<Database>(ready(gateway, 'gateway').url, key, {
            auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
            realtime: NO_REALTIME,
        });

    const signIn = async (email: string): Promise<SignedIn> => {
        const user = client(ready(keys, 'keys').anon);
        const { data, error } = await user.auth.signInWithPassword({ email, password: PASSWORD });
        if (error) throw error;
        return {
            userId: data.user.id,
            email,
            client: user,
            token: async () => (await user.auth.getSession()).data.session!.access_token,
        };
    };

    const newUser = async (tag: string): Promise<Credentials> => {
        const email = `${tag}-${randomUUID().slice(0, 8)}@example.test`;
        const { data, error } = await client(ready(keys, 'keys').serviceRole).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
        if (error) throw error;
        return { userId: data.user.id, email, password: PASSWORD };
    };
    const createUser = async (tag: string): Promise<string> => (await newUser(tag)).email;
    const newStaffUser = async (role: 'support' | 'warehouse' | 'finance' | 'admin'): Promise<Credentials> => {
        const user = await newUser(role);
        await db.query('insert into public.staff (user_id, role) values ($1, $2)', [user.userId, role]);
        return user;
    };

    return {
        db,
        get url() {
            return ready(gateway, 'gateway').url;
        },
        get keys() {
            return ready(keys, 'keys');
        },
        get jwt() {
            return ready(jwt, 'jwt');
        },
        get stripe() {
            return ready(stripe, 'Stripe fake');
        },
        clock,
        webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
        functionLogs,
        get dbProxy() {
            return ready(proxy, 'database proxy (useStack({ dbProxy: true }))');
        },
        anon: () => client(ready(keys, 'keys').anon),
        service: () => client(ready(keys, 'keys').serviceRole),
        stripeSdk: (sdkOptions = {}) =>
            new Stripe(LOCAL_STRIPE_SECRET_KEY, {
                host: '127.0.0.1',
                port: ready(stripe, 'Stripe fake').listening.port,
                protocol: 'http',
                maxNetworkRetries: sdkOptions.maxNetworkRetries ?? 0,
                telemetry: false,
            }),
        mail,
        user: (tag = 'user') => newUser(tag),
        staffUser: newStaffUser,
        customer: async (tag = 'customer') => signIn(await createUser(tag)),
        async staff(role, staffOptions = {}) {
            const member = await signIn((await newStaffUser(role)).email);
            if (staffOptions.mfa) {
                const { data: factor, error } = await member.client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'harness' });
                if (error || factor.type !== 'totp') throw error ?? new Error('no totp factor');
                const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(factor.totp.secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
                const verified = await member.client.auth.mfa.challengeAndVerify({ factorId: factor.id, code });
                if (verified.error) throw verified.error;
            }
            return member;
        },
        async call(name, body, token) {
            const response = await fetch(`${ready(gateway, 'gateway').url}/functions/v1/${name}`, {
                method: 'POST',
                headers: {
                    'content-type': 'application/json',
                    apikey: ready(keys, 'keys').anon,
                    authorization: `Bearer ${token ?? ready(keys, 'keys').anon}`,
                },
                body: typeof body === 'string' ? body : JSON.stringify(body),
            });
            const text = await response.text();
            let parsed: unknown = text;
            try {
                parsed = JSON.parse(text);
            } catch {
                // not JSON: returned as text
            }
            return { status: response.status, body: parsed as never };
        },
    };
}
