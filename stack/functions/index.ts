// Edge functions on real Deno, with the semantics of Supabase's edge runtime: one Deno
// process per function (stack/functions/host.js), started on the first request, restarted
// when its code, import map or env file changes, so edits apply without restarting the
// stack. The supervisor owns routing (/<name>/…), verify_jwt and the wall-clock limit;
// the host owns waitUntil, both function styles and uncaught exceptions.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, loadProjectConfig, type ProjectConfig } from '../config.js';
import type { FetchHandler } from '../http.js';
import { createJwtVerifier, type JwtKeys } from '../jwt.js';
import type { ApiKeys } from '../gateway/keys.js';
import { createLogger, type LogEntry, type LogLevel } from '../log.js';
import type { HealthReport } from '../supervisor/component.js';
import { denoBaseEnv, denoExecutable } from './deno.js';
import { explainBootError, planImports, reachable, type ImportPlan } from './imports.js';
import { envFilePath, fingerprint, resolveFunctions, userSecrets, type FunctionSpec } from './registry.js';

export type { LogEntry };

/** What the functions service reports to the metrics (see stack/metrics). */
export interface FunctionsHooks {
    /** A worker finished booting, or failed to. */
    boot?(name: string, outcome: 'ok' | 'boot_error'): void;
    /** A request was answered: its status, wall time, and the runtime error code when the runtime answered for the function. */
    invocation?(name: string, status: number, seconds: number, errorCode?: string): void;
}

export interface FunctionsServiceOptions {
    config: ProjectConfig;
    jwt: JwtKeys;
    keys: ApiKeys;
    /** SUPABASE_URL given to functions: the gateway's URL. */
    apiUrl: string;
    /** SUPABASE_DB_URL given to functions. */
    dbUrl: string;
    /** Per-request wall-clock limit; default [edge_runtime] wall_clock_limit_ms or 400 s (hosted paid plan). */
    wallClockMs?: number;
    /** A request that gets no response headers within this time is answered 504 (hosted: 150 s). */
    idleTimeoutMs?: number;
    /** JavaScript heap limit of each worker (hosted: 256 MB); past it the request gets 546 WORKER_LIMIT. */
    memoryMb?: number;
    /** Deno's cache directory: compile caches, remote imports fetched while online, generated configs. */
    denoDir: string;
    /** Whether a host can be reached to fetch a remote import (default: a TCP probe, `reachable`). */
    network?: (host: string) => Promise<boolean>;
    /** Receives structured log lines, including every line the functions print. */
    log?: (entry: LogEntry) => void;
    /** How long shutdown waits for waitUntil work before killing workers (default 30 s). */
    shutdownGraceMs?: number;
    /** After a boot error, requests get the same 503 without a new boot attempt for this long (default 5 s). */
    bootRetryMs?: number;
    hooks?: FunctionsHooks;
    /**
     * Secrets the stack provides for its local stand-ins (the Stripe fake's URL and keys, the
     * ERP fake's URL and key, the mail catcher's SMTP port). The project's own secrets override them.
     */
    stackSecrets?: Record<string, string>;
    /** Variables the stack forces on every function, over the project's secrets (the Stripe fake's keys, which must be the ones it accepts). */
    env?: Record<string, string>;
}

export interface FunctionsService {
    handler: FetchHandler;
    /** Names of the functions served. */
    names(): string[];
    /** Degraded (naming them) when some functions cannot boot; the state of every function as detail. */
    health(): Promise<HealthReport>;
    /** Process ids of the live Deno workers. */
    pids(): number[];
    /** Stops every worker, awaiting their background (waitUntil) work. */
    close(): Promise<void>;
}

const HOST = fileURLToPath(new URL('./host.js', import.meta.url));
const CONTROL = '@@tillbase-functions-host@@ ';
const DEFAULT_WALL_CLOCK_MS = 400_000;
const DEFAULT_MEMORY_MB = 256;
const DEFAULT_IDLE_TIMEOUT_MS = 150_000;
const NAME = /^[A-Za-z0-9_-]+$/;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const NOT_FOUND = { code: 'NOT_FOUND', message: 'Function not found' };
export const BOOT_ERROR = { code: 'BOOT_ERROR', message: 'Worker failed to boot (please check logs)' };
export const WORKER_ERROR = { code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' };
export const WORKER_LIMIT = { code: 'WORKER_LIMIT', message: 'Function failed due to not having enough compute resources (please check logs)' };

/** An answer of the runtime itself (not of the function): BOOT_ERROR carries the reason the function cannot run. */
type RuntimeErrorBody = { code?: string; message?: string; msg?: string; reason?: string };

const IDLE_TIMEOUT = (ms: number) => ({ msg: `Request idle timeout: the function sent no response within ${ms / 1000} s` });

type Boot = { ok: true; port: number } | { ok: false; error: string; reason: string };

/** How a worker's Deno runs: its config flags, and the import plan behind them (stack/functions/imports.ts). */
interface Launch {
    flags: string[];
    plan?: ImportPlan;
    /** Remote imports may only come from Deno's cache (no network to their hosts). */
    offline: boolean;
}

interface WorkerArgs {
    deno: string;
    env: Record<string, string>;
    memoryMb: number;
    log: (entry: LogEntry) => void;
    onCrash: (cause: string) => void;
}

/** One Deno process serving one function at one version of its code. */
class Worker {
    readonly booted: Promise<Boot>;
    private child?: ChildProcess;
    private exited = false;
    /** V8 reported the heap limit (hosted: 256 MB): requests that die with the worker are 546, not 500. */
    outOfMemory = false;
    private readonly exit: Promise<void>;
    private markExited!: () => void;

    /** Set when the supervisor stops or kills the worker: its exit is then no crash. */
    private expectedExit = false;

    constructor(
        spec: FunctionSpec,
        args: WorkerArgs & { launch: Promise<Launch> },
    ) {
        let settle!: (boot: Boot) => void;
        this.booted = new Promise((resolve) => (settle = resolve));
        this.exit = new Promise((resolve) => (this.markExited = () => ((this.exited = true), resolve())));
        // The imports are planned (and the network probed, if they need it) before Deno starts.
        void args.launch.then(
            (launch) => {
                if (this.expectedExit) {
                    settle({ ok: false, error: 'stopped before it booted', reason: 'stopped before it booted' });
                    this.markExited();
                } else {
                    this.spawn(spec, args, launch, settle);
                }
            },
            (error: unknown) => {
                const message = `cannot start the worker: ${(error as Error)?.message ?? String(error)}`;
                settle({ ok: false, error: message, reason: message });
                this.markExited();
            },
        );
    }

    private spawn(spec: FunctionSpec, args: WorkerArgs, launch: Launch, settle: (boot: Boot) => void): void {
        // A failure that names an import the stack could not resolve says so; else Deno's own line.
        const failed = (error: string): Boot => ({ ok: false, error, reason: (launch.plan && explainBootError(error, launch.plan, launch.offline)) ?? bootReason(error) });
        const child = spawn(
            args.deno,
            ['run', '--allow-all', '--no-prompt', ...launch.flags, `--v8-flags=--max-old-space-size=${args.memoryMb}`, HOST, pathToFileURL(spec.entrypoint).href, spec.name],
            // Own process group: a terminal's Ctrl-C reaches the supervisor, which stops workers
            // in order (before the database their waitUntil work may still use). A worker whose
            // supervisor died sees stdin close and exits.
            { env: args.env, stdio: ['pipe', 'pipe', 'pipe'], cwd: path.dirname(spec.entrypoint), detached: true },
        );
        this.child = child;
        let bootedOk = false;
        void this.booted.then((boot) => (bootedOk = boot.ok));
        child.once('exit', (code, signal) => {
            if (bootedOk && !this.expectedExit) args.onCrash(signal ? `worker was killed by ${signal}` : `worker exited with code ${code}`);
            this.markExited();
        });
        child.stdin?.on('error', () => {});
        const fnLog = (level: LogLevel) => (line: string) => {
            if (line.trim()) args.log({ ...structured(line), level: levelOf(line, level), msg: messageOf(line), function: spec.name });
        };
        readline.createInterface({ input: child.stdout! }).on('line', (line) => {
            if (!line.startsWith(CONTROL)) return fnLog('info')(line);
            const message = JSON.parse(line.slice(CONTROL.length)) as { event: string; port?: number; error?: string };
            if (message.event === 'ready') settle({ ok: true, port: message.port! });
            else settle(failed(message.error ?? 'unknown boot error'));
        });
        const stderr: string[] = [];
        readline.createInterface({ input: child.stderr! }).on('line', (line) => {
            if (/out of memory/i.test(line)) this.outOfMemory = true;
            stderr.push(line);
            if (stderr.length > 40) stderr.shift();
            fnLog('error')(line);
        });
        child.once('error', (error) => settle(failed(`cannot run Deno: ${error.message}`)));
        // Deno itself may fail before the host runs (bad config, unresolvable import).
        // ('close' comes after stdout is drained, so a boot_error line always wins.)
        child.once('close', () => settle(failed(stderr.join('\n') || `Deno exited with code ${child.exitCode}`)));
    }

    get alive(): boolean {
        return !this.exited;
    }

    get pid(): number | undefined {
        return this.exited ? undefined : this.child?.pid;
    }

    /** Graceful stop: the host stops accepting, awaits waitUntil work, exits; killed after `graceMs`. */
    async stop(graceMs: number): Promise<void> {
        if (this.exited) return;
        this.expectedExit = true;
        this.child?.kill('SIGTERM');
        const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
        await this.exit;
        clearTimeout(timer);
    }

    /** Resolves when the process exited, or after `ms`. */
    exitedWithin(ms: number): Promise<void> {
        return Promise.race([this.exit, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
    }

    kill(): Promise<void> {
        this.expectedExit = true;
        if (!this.exited) this.child?.kill('SIGKILL');
        return this.exit;
    }
}

interface Slot {
    spec: FunctionSpec;
    version?: string;
    worker?: Worker;
    /** The last boot of this version failed: why, and when. */
    bootError?: { reason: string; at: number };
    crashes: number;
    boots: number;
}

/** A function's own JSON log line (functions/_shared/log.ts) keeps its fields. */
function structured(line: string): Record<string, unknown> {
    if (!line.startsWith('{')) return {};
    try {
        const parsed = JSON.parse(line) as unknown;
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
        return {};
    }
}

function levelOf(line: string, fallback: LogLevel): LogLevel {
    const level = structured(line).level;
    return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : fallback;
}

function messageOf(line: string): string {
    const msg = structured(line).msg;
    return typeof msg === 'string' ? msg : line;
}

/** The line of a boot failure worth showing: Deno's `error:` line, else the first line. */
export function bootReason(error: string): string {
    const lines = error.split('\n').map((l) => l.trim()).filter(Boolean);
    return (lines.find((l) => /^(error|uncaught|\w*Error)\b/i.test(l)) ?? lines[0] ?? 'unknown boot error').slice(0, 500);
}

export async function createFunctionsService(options: FunctionsServiceOptions): Promise<FunctionsService> {
    const log = options.log ?? createLogger('functions').write;
    const hooks = options.hooks ?? {};
    const bootRetryMs = options.bootRetryMs ?? 5_000;
    const verify = createJwtVerifier(options.jwt);
    const deno = denoExecutable();
    const graceMs = options.shutdownGraceMs ?? 30_000;
    const wallClockMs = options.wallClockMs ?? configuredWallClock(options.config) ?? DEFAULT_WALL_CLOCK_MS;
    const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const envFile = envFilePath(options.config);
    const network = options.network ?? ((host: string) => reachable(host));
    const slots = new Map<string, Slot>([...resolveFunctions(options.config)].map(([name, spec]) => [name, { spec, crashes: 0, boots: 0 }]));
    for (const slot of slots.values()) {
        if (slot.spec.problem) log({ level: 'error', msg: `function ${slot.spec.name} cannot run: ${slot.spec.problem}`, function: slot.spec.name });
    }
    const retiring = new Set<Promise<void>>();
    const timers = new Set<NodeJS.Timeout>();
    const warned = new Set<string>();
    const warnOnce = (msg: string) => {
        if (!warned.has(msg)) log({ level: 'warn', msg });
        warned.add(msg);
    };
    let closed = false;

    const platformEnv = {
        SUPABASE_URL: options.apiUrl,
        SUPABASE_ANON_KEY: options.keys.anon,
        SUPABASE_SERVICE_ROLE_KEY: options.keys.serviceRole,
        SUPABASE_DB_URL: options.dbUrl,
        SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: options.keys.publishable }),
        SUPABASE_SECRET_KEYS: JSON.stringify({ default: options.keys.secret }),
    };

    /** The function's spec as config.toml and supabase/functions say now. */
    const currentSpec = (name: string): FunctionSpec | undefined => {
        try {
            return resolveFunctions(loadProjectConfig(options.config.workdir)).get(name);
        } catch (error) {
            log({ level: 'error', msg: 'cannot read the functions of the project', error });
            return undefined;
        }
    };

    /** A function added (or enabled) since the start: config.toml and supabase/functions are read again. */
    const discover = (name: string): Slot | undefined => {
        if (!NAME.test(name)) return undefined;
        const spec = currentSpec(name);
        if (!spec) return undefined;
        const slot: Slot = { spec, crashes: 0, boots: 0 };
        slots.set(name, slot);
        log({ level: 'info', msg: 'new function found', function: name });
        return slot;
    };

    /** A function whose config was broken is read again on each call: a fix applies without a restart. */
    const recheck = (slot: Slot): void => {
        const spec = currentSpec(slot.spec.name);
        if (!spec || spec.problem === slot.spec.problem) return;
        if (!spec.problem) log({ level: 'info', msg: `function ${spec.name}: its configuration is fixed`, function: spec.name });
        slot.spec = spec;
    };

    /**
     * The Deno flags of a worker: a generated config from the function's import plan; remote
     * imports fetched only when every host they come from answers, else from Deno's cache.
     * A config or import map that cannot be read is handed to Deno as it is, to report.
     */
    const launchFor = async (spec: FunctionSpec): Promise<Launch> => {
        let plan: ImportPlan;
        try {
            plan = planImports(spec, options.denoDir);
        } catch {
            const own = spec.denoConfig?.kind === 'config' ? ['--config', spec.denoConfig.file] : [...(spec.denoConfig ? ['--import-map', spec.denoConfig.file] : ['--no-config']), '--node-modules-dir=manual'];
            return { flags: [...own, '--cached-only'], offline: true };
        }
        if (Object.keys(plan.localized).length) log({ level: 'debug', msg: 'imports resolved locally', function: spec.name, imports: plan.localized });
        const online = plan.hosts.length > 0 && (await Promise.all(plan.hosts.map(network))).every(Boolean);
        if (plan.remote.length) log({ level: 'info', msg: online ? 'remote imports are fetched (network reachable)' : 'remote imports come from the cache only (no network to their hosts)', function: spec.name, remote: plan.remote });
        return { flags: ['--config', plan.configFile, ...(online ? [] : ['--cached-only'])], plan, offline: !online };
    };

    const retire = (worker: Worker) => {
        const stopping = worker.stop(graceMs).finally(() => retiring.delete(stopping));
        retiring.add(stopping);
    };

    /** The worker for the function's current code, started if needed. */
    const workerFor = (slot: Slot): Worker => {
        const version = fingerprint([...slot.spec.watch, envFile]);
        if (slot.worker && slot.version === version) {
            if (slot.worker.alive) return slot.worker;
            // The same code failed to boot a moment ago: answer with that failure, do not boot again yet.
            if (slot.bootError && Date.now() - slot.bootError.at < bootRetryMs) return slot.worker;
        }
        if (slot.worker) {
            if (slot.version !== version) log({ level: 'info', msg: 'code changed: reloading function', function: slot.spec.name });
            retire(slot.worker);
        }
        const env = { ...denoBaseEnv(options.denoDir), ...options.stackSecrets, ...userSecrets(options.config, warnOnce), ...options.env, ...platformEnv };
        const onCrash = (cause: string) => {
            slot.crashes += 1;
            log({ level: 'error', msg: `function worker stopped unexpectedly: ${cause}; the next request starts a new one`, function: slot.spec.name, cause });
        };
        slot.worker = new Worker(slot.spec, { deno, env, memoryMb, log, onCrash, launch: launchFor(slot.spec) });
        slot.version = version;
        slot.boots += 1;
        const worker = slot.worker;
        void worker.booted.then((boot) => {
            hooks.boot?.(slot.spec.name, boot.ok ? 'ok' : 'boot_error');
            if (boot.ok) {
                slot.bootError = undefined;
                return;
            }
            const reason = boot.reason;
            // Logged once per failing version, not once per request.
            if (slot.bootError?.reason !== reason) log({ level: 'error', msg: 'function failed to boot', function: slot.spec.name, reason, error: boot.error });
            slot.bootError = { reason, at: Date.now() };
        });
        return worker;
    };

    /** Runs one request on the function's worker; `fail` answers for the runtime (and names the error code). */
    const invoke = async (slot: Slot, request: Request, url: URL, fail: (status: number, body: RuntimeErrorBody, code?: string) => Response): Promise<Response> => {
        const name = slot.spec.name;
        if (slot.spec.problem) return fail(503, { ...BOOT_ERROR, reason: slot.spec.problem });
        const worker = workerFor(slot);
        const started = Date.now();
        const controller = new AbortController();
        let limited = false;
        const timer = setTimeout(() => {
            limited = true;
            controller.abort();
            log({ level: 'error', msg: `wall clock limit of ${wallClockMs} ms reached: worker terminated`, function: name });
            // Hosted Supabase terminates the worker; a CPU-bound function could not be stopped otherwise.
            if (slot.worker === worker) slot.worker = undefined;
            void worker.kill();
        }, wallClockMs);
        timer.unref();
        timers.add(timer);
        const done = () => {
            clearTimeout(timer);
            timers.delete(timer);
        };
        try {
            const boot = await Promise.race([worker.booted, abortion(controller.signal)]);
            if (!boot || limited) return fail(546, WORKER_LIMIT);
            if (!boot.ok) {
                done();
                return fail(503, { ...BOOT_ERROR, reason: boot.reason });
            }
            const forwarded = new Headers(request.headers);
            for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'content-length']) forwarded.delete(hop);
            forwarded.set('x-forwarded-host', url.host);
            // Node's fetch decodes compressed bodies: ask for none, and drop the header if one came anyway.
            forwarded.set('accept-encoding', 'identity');
            const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
            const pending = fetch(`http://127.0.0.1:${boot.port}${url.pathname}${url.search}`, {
                method: request.method,
                headers: forwarded,
                body,
                signal: controller.signal,
                redirect: 'manual',
            });
            // Hosted: no response within the idle timeout → 504; the worker itself runs on (up to the wall clock).
            let idleTimer: NodeJS.Timeout | undefined;
            const idle = new Promise<undefined>((resolve) => (idleTimer = setTimeout(resolve, idleTimeoutMs, undefined)));
            const upstream = await Promise.race([pending, idle]).finally(() => clearTimeout(idleTimer));
            if (!upstream) {
                done();
                void pending.then((late) => late.body?.cancel()).catch(() => {});
                log({ level: 'error', msg: `no response within the idle timeout of ${idleTimeoutMs} ms`, function: name });
                return fail(504, IDLE_TIMEOUT(idleTimeoutMs), 'IDLE_TIMEOUT');
            }
            const headers = new Headers(upstream.headers);
            headers.delete('content-length');
            headers.delete('transfer-encoding');
            headers.delete('connection');
            headers.delete('keep-alive');
            headers.delete('content-encoding');
            if (!upstream.body) {
                done();
                return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers });
            }
            // The limit also covers a streamed body: the abort errors the stream.
            const body$ = upstream.body.pipeThrough(new TransformStream({ flush: done }));
            return new Response(body$, { status: upstream.status, statusText: upstream.statusText, headers });
        } catch (error) {
            done();
            if (limited) return fail(546, WORKER_LIMIT);
            await worker.exitedWithin(1_000);
            if (worker.outOfMemory) {
                log({ level: 'error', msg: `memory limit of ${memoryMb} MB reached: worker terminated`, function: name });
                return fail(546, WORKER_LIMIT);
            }
            // The worker died mid-request (crash, exit): it is replaced on the next request.
            log({ level: 'error', msg: 'function worker failed', function: name, error: String(error), ms: Date.now() - started });
            return fail(500, WORKER_ERROR);
        }
    };

    const handler: FetchHandler = async (request) => {
        const url = new URL(request.url);
        const name = url.pathname.split('/')[1] ?? '';
        const slot = slots.get(name) ?? discover(name);
        if (!slot || closed) return json(404, NOT_FOUND);
        if (slot.spec.problem) recheck(slot);

        if (slot.spec.verifyJwt && request.method !== 'OPTIONS') {
            const denied = await checkJwt(request, verify);
            if (denied) return denied;
        }

        const started = performance.now();
        let errorCode: string | undefined;
        const fail = (status: number, body: RuntimeErrorBody, code?: string) => {
            errorCode = code ?? body.code;
            return json(status, body);
        };
        const response = await invoke(slot, request, url, fail);
        hooks.invocation?.(name, response.status, (performance.now() - started) / 1000, errorCode);
        return response;
    };

    /** Each function's state for status: config_error, boot_error, running (a live worker) or idle. */
    const states = () =>
        [...slots.values()].map((slot) => {
            const state = slot.spec.problem ? 'config_error' : slot.bootError ? 'boot_error' : slot.worker?.alive ? 'running' : 'idle';
            const reason = slot.spec.problem ?? slot.bootError?.reason;
            return { name: slot.spec.name, state, ...(reason ? { reason } : {}), pid: slot.worker?.pid ?? null, boots: slot.boots, crashes: slot.crashes };
        });

    return {
        handler,
        names: () => [...slots.keys()],
        async health() {
            const functions = states();
            const broken = functions.filter((f) => f.state === 'config_error' || f.state === 'boot_error');
            const degraded = broken.length ? `${broken.length} of ${functions.length} function(s) cannot run: ${broken.map((f) => `${f.name} (${f.reason})`).join('; ')}` : undefined;
            return { ...(degraded ? { degraded } : {}), detail: { functions } };
        },
        pids: () => [...slots.values()].flatMap((slot) => (slot.worker?.pid ? [slot.worker.pid] : [])),
        close: async () => {
            closed = true;
            for (const timer of timers) clearTimeout(timer);
            for (const slot of slots.values()) {
                if (slot.worker) retire(slot.worker);
                slot.worker = undefined;
            }
            await Promise.all([...retiring]);
        },
    };
}

function abortion(signal: AbortSignal): Promise<undefined> {
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
}

/** verify_jwt as Supabase's edge runtime does it; undefined when the request may pass. */
async function checkJwt(request: Request, verify: (token: string) => Promise<unknown>): Promise<Response | undefined> {
    const header = request.headers.get('authorization');
    if (!header) return json(401, { msg: 'Error: Missing authorization header' });
    const [scheme, token] = header.split(' ');
    if (scheme !== 'Bearer' || !token) return json(401, { msg: "Error: Auth header is not 'Bearer {token}'" });
    try {
        await verify(token);
        return undefined;
    } catch {
        return json(401, { msg: 'Invalid JWT' });
    }
}

function configuredWallClock(config: ProjectConfig): number | undefined {
    const value = config.edge_runtime.wall_clock_limit_ms;
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
        throw new ConfigError('[edge_runtime] wall_clock_limit_ms must be a positive integer (milliseconds)');
    }
    return value;
}
