// The local stand-in for pg_cron + pg_net: reads the project's scheduled jobs (the
// scheduler.jobs table that supabase/migrations/…_scheduled_jobs.sql declares; hosted
// Supabase turns the same rows into cron.schedule calls) and calls each due function
// through the gateway. Each job runs at most once per schedule slot and never twice at
// the same time: a run still in flight makes the next due slot skip.
import { dueSlot, parseSchedule, ScheduleError, type Schedule } from './cron.js';
import { createPgPool, type ConnectionErrorHandler } from '../db/connect.js';
import { createLogger, createStreak, entryLogger, type LogEntry } from '../log.js';

export interface ScheduledJob {
    name: string;
    schedule: string;
    functionName: string;
    body: unknown;
    timeoutMs: number;
}

export type SchedulerLog = (entry: LogEntry) => void;

/** One finished run, for the metrics: the status the function answered (undefined: no answer). */
export interface JobRun {
    job: string;
    status?: number;
    seconds: number;
    /** How long after the start of its schedule slot the run started. */
    latenessSeconds: number;
}

export interface SchedulerOptions {
    loadJobs: () => Promise<ScheduledJob[]>;
    /** Calls the job's function; resolves with the HTTP status once the response arrived. */
    invoke: (job: ScheduledJob) => Promise<number>;
    now?: () => Date;
    log?: SchedulerLog;
    onRun?: (run: JobRun) => void;
}

export interface Scheduler {
    /** Looks at the clock once and starts every due job that is not still running. */
    tick(): Promise<void>;
    /** Resolves when no job is in flight. */
    idle(): Promise<void>;
    /** Ticks every `intervalMs` (a tick never overlaps the previous one). */
    start(intervalMs?: number): void;
    /** Stops ticking and waits for the runs in flight. */
    stop(): Promise<void>;
    /** Rejects with the reason when the jobs cannot be read. */
    health(): Promise<void>;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
    const now = options.now ?? (() => new Date());
    const log: SchedulerLog = options.log ?? createLogger('scheduler').write;
    // A failure to read the jobs is retried every tick: logged once per streak.
    const reading = createStreak(entryLogger('scheduler', log), 'reading the scheduled jobs');
    const lastSlot = new Map<string, number>();
    const inFlight = new Map<string, Promise<void>>();
    const parsed = new Map<string, Schedule | ScheduleError>();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let loadError: unknown;

    const scheduleOf = (job: ScheduledJob): Schedule | undefined => {
        if (!parsed.has(job.schedule)) {
            try {
                parsed.set(job.schedule, parseSchedule(job.schedule));
            } catch (error) {
                parsed.set(job.schedule, error as ScheduleError);
                log({ level: 'error', msg: `scheduled job ${job.name}: ${(error as Error).message}`, job: job.name });
            }
        }
        const schedule = parsed.get(job.schedule);
        return schedule instanceof ScheduleError ? undefined : schedule;
    };

    const run = (job: ScheduledJob, latenessSeconds: number) => {
        const started = Date.now();
        const running = options
            .invoke(job)
            .then((status) => {
                const ms = Date.now() - started;
                options.onRun?.({ job: job.name, status, seconds: ms / 1000, latenessSeconds });
                log({ level: status < 400 ? 'info' : 'warn', msg: 'scheduled job ran', job: job.name, function: job.functionName, status, ms });
                if (ms > job.timeoutMs) {
                    log({ level: 'warn', msg: `scheduled job took ${ms} ms; pg_net stops waiting after timeout_ms = ${job.timeoutMs}`, job: job.name });
                }
            })
            .catch((error: unknown) => {
                options.onRun?.({ job: job.name, seconds: (Date.now() - started) / 1000, latenessSeconds });
                log({ level: 'error', msg: 'scheduled job failed', job: job.name, error });
            })
            .finally(() => inFlight.delete(job.name));
        inFlight.set(job.name, running);
    };

    const tick = async () => {
        const at = now();
        let jobs: ScheduledJob[];
        try {
            jobs = await options.loadJobs();
            loadError = undefined;
            reading.succeed();
        } catch (error) {
            reading.fail(error);
            loadError = error;
            return;
        }
        for (const job of jobs) {
            const schedule = scheduleOf(job);
            const slot = schedule && dueSlot(schedule, at);
            if (slot === undefined || lastSlot.get(job.name) === slot) continue;
            lastSlot.set(job.name, slot);
            if (inFlight.has(job.name)) {
                log({ level: 'warn', msg: 'scheduled job still running from its previous slot: this run is skipped', job: job.name });
                continue;
            }
            const slotStart = schedule!.kind === 'seconds' ? slot * schedule!.every * 1000 : slot * 60_000;
            run(job, Math.max(0, at.getTime() - slotStart) / 1000);
        }
    };

    const idle = async () => {
        while (inFlight.size) await Promise.all([...inFlight.values()]);
    };

    return {
        tick,
        idle,
        start(intervalMs = 1000) {
            const loop = async () => {
                if (stopped) return;
                await tick();
                if (!stopped) timer = setTimeout(() => void loop(), intervalMs - (Date.now() % intervalMs));
            };
            void loop();
        },
        async stop() {
            stopped = true;
            if (timer) clearTimeout(timer);
            await idle();
        },
        async health() {
            if (loadError !== undefined) throw loadError instanceof Error ? loadError : new Error(String(loadError));
        },
    };
}

/** Jobs from scheduler.jobs; none when the project has no such table. */
export function jobsFromDatabase(
    dbUrl: string,
    onConnectionError?: ConnectionErrorHandler,
): { loadJobs: () => Promise<ScheduledJob[]>; close: () => Promise<void>; pool: import('pg').Pool } {
    const pool = createPgPool({ connectionString: dbUrl, max: 1, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 }, onConnectionError);
    return {
        loadJobs: async () => {
            try {
                const { rows } = await pool.query<{ name: string; schedule: string; function_name: string; body: unknown; timeout_ms: number }>(
                    'select name, schedule, function_name, body, timeout_ms from scheduler.jobs where enabled order by name',
                );
                return rows.map((r) => ({ name: r.name, schedule: r.schedule, functionName: r.function_name, body: r.body, timeoutMs: r.timeout_ms }));
            } catch (error) {
                const code = (error as { code?: string }).code;
                if (code === '42P01' || code === '3F000') return []; // no scheduler.jobs in this project
                throw error;
            }
        },
        close: () => pool.end(),
        pool,
    };
}

/** Calls a function through the gateway as pg_net would: POST, JSON body, the service key. */
export function invokeThroughGateway(apiUrl: string, keys: { serviceRole: string; secret: string }): (job: ScheduledJob) => Promise<number> {
    return async (job) => {
        const response = await fetch(`${apiUrl}/functions/v1/${encodeURIComponent(job.functionName)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.serviceRole}`, apikey: keys.secret, 'user-agent': 'pg_net/local-scheduler' },
            body: JSON.stringify(job.body ?? {}),
        });
        await response.arrayBuffer();
        return response.status;
    };
}
