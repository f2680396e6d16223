// The stack's supervisor: starts each component (stack/supervisor/component.ts), keeps a
// truthful state for each one from live checks, restarts a component whose process died
// (with exponential backoff, giving up after a few fast failures and saying so), and stops
// everything in reverse order. It never throws on a component's behalf: a component that
// fails to start is reported as failed while the rest of the stack runs.
import { reasonOf, type Logger } from '../log.js';
import type { ComponentHandle, ComponentRun, HealthReport, PoolUsage } from './component.js';

export type ComponentState = 'starting' | 'running' | 'degraded' | 'unhealthy' | 'restarting' | 'failed' | 'disabled' | 'stopped';

/** One component as `npm run status -o json` shows it (`details.<name>`). */
export interface ComponentReport {
    state: ComponentState;
    /** Why it is not running, or what is degraded. */
    reason?: string;
    /** Restarts after crashes so far. */
    restarts: number;
    last_error: { message: string; at: string } | null;
    pids: number[];
    /** When the state last changed (ISO time). */
    since: string;
    detail?: unknown;
}

export interface RestartPolicy {
    /** Delay before the first restart; doubled after each fast failure. */
    initialDelayMs: number;
    maxDelayMs: number;
    /** A crash within this time of starting, or a restart that fails, is a fast failure. */
    stableMs: number;
    /** Consecutive fast failures after which the supervisor gives up. */
    maxFastFailures: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 5_000, stableMs: 30_000, maxFastFailures: 5 };

export interface SupervisorOptions {
    /** The stack's logger; each component logs under its own name. */
    log: Logger;
    policy?: Partial<RestartPolicy>;
    /** A health check that takes longer counts as failed (default 3 s). */
    healthTimeoutMs?: number;
    /** Called after any state change (the stack rewrites its status file). */
    onChange?: () => void;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
}

interface Entry {
    name: string;
    run: ComponentRun;
    log: Logger;
    handle?: ComponentHandle;
    state: ComponentState;
    reason?: string;
    detail?: unknown;
    restarts: number;
    fastFailures: number;
    startedAt: number;
    since: number;
    lastError: { message: string; at: number } | null;
}

/** The one-line state of a component for the `components` map and the status table. */
export function stateLine(report: Pick<ComponentReport, 'state' | 'reason'>): string {
    if (report.state === 'running' || report.state === 'stopped' || report.state === 'starting') return report.state;
    if (report.state === 'disabled') return report.reason ?? 'disabled';
    return report.reason ? `${report.state}: ${report.reason}` : report.state;
}

export class Supervisor {
    private readonly entries = new Map<string, Entry>();
    private readonly policy: RestartPolicy;
    private readonly sleep: (ms: number) => Promise<void>;
    private readonly now: () => number;
    private stopping = false;
    private watchTimer?: NodeJS.Timeout;
    private checking?: Promise<unknown>;

    constructor(private readonly options: SupervisorOptions) {
        this.policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
        this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
        this.now = options.now ?? Date.now;
    }

    /**
     * Starts a component; resolves with its handle, or undefined when it failed to start
     * (reported, not thrown — unless `required`: the stack cannot run without it).
     */
    async component(name: string, run: ComponentRun, { required = false }: { required?: boolean } = {}): Promise<ComponentHandle | undefined> {
        const entry: Entry = {
            name,
            run,
            log: this.options.log.child(name),
            state: 'starting',
            restarts: 0,
            fastFailures: 0,
            startedAt: this.now(),
            since: this.now(),
            lastError: null,
        };
        this.entries.set(name, entry);
        try {
            this.started(entry, await run({ log: entry.log, restart: 0 }));
            return entry.handle;
        } catch (error) {
            this.failed(entry, error);
            entry.log.error(`${name} failed to start: ${reasonOf(error)}`, { error });
            this.set(entry, 'failed', reasonOf(error));
            if (required) throw error;
            return undefined;
        }
    }

    /** Records a component that is not started on purpose (e.g. disabled in config.toml). */
    disable(name: string, reason: string): void {
        const entry = this.entries.get(name) ?? { name, run: async () => ({ stop: async () => {} }), log: this.options.log.child(name), restarts: 0, fastFailures: 0, startedAt: 0, since: 0, lastError: null, state: 'disabled' as const };
        this.entries.set(name, entry);
        this.set(entry, 'disabled', reason);
    }

    /**
     * Runs every health check now and returns what each component looks like. A check
     * already in flight (the periodic one, or another `status`) is shared, not doubled.
     */
    async check(): Promise<Record<string, ComponentReport>> {
        this.checking ??= Promise.all([...this.entries.values()].map((entry) => this.checkOne(entry))).finally(() => (this.checking = undefined));
        await this.checking;
        return this.reports();
    }

    /** The last known state of every component, in start order. */
    reports(): Record<string, ComponentReport> {
        const reports: Record<string, ComponentReport> = {};
        for (const entry of this.entries.values()) {
            let pids: number[] = [];
            try {
                pids = entry.handle?.pids?.() ?? [];
            } catch {
                // a handle that cannot list its processes shows none
            }
            reports[entry.name] = {
                state: entry.state,
                ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
                restarts: entry.restarts,
                last_error: entry.lastError ? { message: entry.lastError.message, at: new Date(entry.lastError.at).toISOString() } : null,
                pids,
                since: new Date(entry.since).toISOString(),
                ...(entry.detail !== undefined ? { detail: entry.detail } : {}),
            };
        }
        return reports;
    }

    /** `components` of the status: name → "running" or why not. */
    summary(): Record<string, string> {
        return Object.fromEntries(Object.entries(this.reports()).map(([name, report]) => [name, stateLine(report)]));
    }

    /** Database pools of the running components, by pool name (for the metrics). */
    pools(): Record<string, PoolUsage> {
        const pools: Record<string, PoolUsage> = {};
        for (const entry of this.entries.values()) Object.assign(pools, entry.handle?.pools ?? {});
        return pools;
    }

    /** Checks every `intervalMs` until stopped (a check never overlaps the previous one). */
    watch(intervalMs: number): void {
        const loop = async () => {
            if (this.stopping) return;
            await this.check().catch(() => {});
            if (!this.stopping) this.watchTimer = setTimeout(() => void loop(), intervalMs);
        };
        this.watchTimer = setTimeout(() => void loop(), intervalMs);
    }

    /** Stops every component, last started first. Components that crash from now on stay down. */
    async stopAll(): Promise<void> {
        this.stopping = true;
        if (this.watchTimer) clearTimeout(this.watchTimer);
        for (const entry of [...this.entries.values()].reverse()) {
            const handle = entry.handle;
            entry.handle = undefined;
            if (!handle) continue;
            try {
                await handle.stop();
                this.set(entry, 'stopped');
            } catch (error) {
                entry.log.error(`stopping ${entry.name} failed: ${reasonOf(error)}`, { error });
            }
        }
    }

    private started(entry: Entry, handle: ComponentHandle): void {
        entry.handle = handle;
        entry.startedAt = this.now();
        this.set(entry, 'running');
        void handle.exited?.then((cause) => {
            if (this.stopping || entry.handle !== handle) return;
            void this.restart(entry, cause);
        });
    }

    /** Restarts a component whose process died, with backoff; gives up after too many fast failures. */
    private async restart(entry: Entry, cause: string): Promise<void> {
        entry.handle = undefined;
        const crashedFast = this.now() - entry.startedAt < this.policy.stableMs;
        entry.fastFailures = crashedFast ? entry.fastFailures + 1 : 1;
        this.failed(entry, new Error(cause));
        entry.log.error(`${entry.name} stopped unexpectedly: ${cause}; restarting it`, { cause, restarts: entry.restarts });
        let loggedAttemptFailure = false;
        while (!this.stopping) {
            if (entry.fastFailures > this.policy.maxFastFailures) {
                const reason = `gave up after ${entry.fastFailures} failures within ${this.policy.stableMs / 1000} s: ${cause}`;
                entry.log.error(`${entry.name} is down: ${reason}`, { cause, restarts: entry.restarts });
                this.set(entry, 'failed', reason);
                return;
            }
            const delay = Math.min(this.policy.initialDelayMs * 2 ** (entry.fastFailures - 1), this.policy.maxDelayMs);
            this.set(entry, 'restarting', `${cause}; restart ${entry.restarts + 1} in ${delay} ms`);
            await this.sleep(delay);
            if (this.stopping) return;
            entry.restarts += 1;
            try {
                const handle = await entry.run({ log: entry.log, restart: entry.restarts });
                if (this.stopping) {
                    await handle.stop();
                    return;
                }
                entry.log.info(`${entry.name} restarted (restart ${entry.restarts}) after: ${cause}`, { cause, restarts: entry.restarts });
                this.started(entry, handle);
                return;
            } catch (error) {
                cause = reasonOf(error);
                entry.fastFailures += 1;
                this.failed(entry, error);
                // Once per streak: the attempts that follow fail the same way until one succeeds.
                if (!loggedAttemptFailure) entry.log.error(`restarting ${entry.name} failed: ${cause}; retrying with backoff`, { error });
                loggedAttemptFailure = true;
            }
        }
    }

    private async checkOne(entry: Entry): Promise<void> {
        const handle = entry.handle;
        if (!handle || !['running', 'degraded', 'unhealthy'].includes(entry.state)) return;
        if (!handle.health) return;
        let report: HealthReport | void;
        try {
            report = await withTimeout(handle.health(), this.options.healthTimeoutMs ?? 3_000);
        } catch (error) {
            if (entry.handle !== handle) return;
            const reason = reasonOf(error);
            if (entry.state !== 'unhealthy') {
                this.failed(entry, error);
                entry.log.warn(`${entry.name} is unhealthy: ${reason}`, { error });
            }
            this.set(entry, 'unhealthy', reason);
            return;
        }
        if (entry.handle !== handle) return;
        entry.detail = report?.detail;
        if (report?.degraded) {
            if (entry.state !== 'degraded' || entry.reason !== report.degraded) entry.log.warn(`${entry.name} is degraded: ${report.degraded}`);
            this.set(entry, 'degraded', report.degraded);
        } else {
            if (entry.state !== 'running') entry.log.info(`${entry.name} is healthy again`);
            this.set(entry, 'running');
        }
    }

    private failed(entry: Entry, error: unknown): void {
        entry.lastError = { message: reasonOf(error), at: this.now() };
    }

    private set(entry: Entry, state: ComponentState, reason?: string): void {
        if (entry.state === state && entry.reason === reason) return;
        if (entry.state !== state) entry.since = this.now();
        entry.state = state;
        entry.reason = reason;
        this.options.onChange?.();
    }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
