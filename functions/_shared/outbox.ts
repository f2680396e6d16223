// The outbox worker loop both background functions share (erp-sync, notifications): claim
// a small batch (FOR UPDATE SKIP LOCKED, visibility timeout, one in-flight message per
// order), process it concurrently under a per-message deadline shorter than the lease,
// then complete / fail (backoff with jitter) / dead-letter each message. Rounds repeat
// until the queue is empty or the run's time budget is spent, so one invocation always
// ends well inside the edge runtime's limits (150 s idle, 400 s wall clock, 2 s CPU).
import { z } from 'zod';
import type { Db } from './db.ts';
import { errorResponse, isDatabaseUnavailable, parseInput } from './errors.ts';
import { HttpError, json, preflight, readJson } from './http.ts';
import type { Logger } from './log.ts';
import { requireServiceRole } from './service-role.ts';

export interface OutboxMessage {
    id: string;
    topic: string;
    aggregate_type: string;
    aggregate_id: string | null;
    payload: Record<string, unknown>;
    idempotency_key: string;
    attempts: number;
}

/**
 * What became of one message. `done` with a result (an ERP document) is completed on its
 * own, in the transaction that records the result; `done` without one is completed with the
 * rest of its round in one statement.
 */
export type Outcome =
    | { kind: 'done'; result?: Record<string, unknown> }
    | { kind: 'retry'; error: string }
    | { kind: 'dead'; error: string };

/** A run's settings: the scheduled job's body (all optional). */
export const WorkerSettings = z
    .object({
        /** Messages claimed (and processed concurrently) per round. */
        batch: z.number().int().min(1).max(100).default(10),
        /** No new round starts after this much time. */
        budget_ms: z.number().int().min(500).max(120_000).default(20_000),
        /** The lease of a claimed message; its processing is aborted a little before it ends. */
        visibility_seconds: z.number().int().min(2).max(900).default(60),
        /** First retry delay; doubles per attempt (with jitter) up to retry_max_ms. */
        retry_base_ms: z.number().int().min(10).max(3_600_000).default(5_000),
        retry_max_ms: z.number().int().min(10).max(86_400_000).default(3_600_000),
    })
    .strict();

export type WorkerSettings = z.infer<typeof WorkerSettings>;

export interface RunSummary {
    rounds: number;
    claimed: number;
    done: number;
    retried: number;
    dead: number;
    /** Messages whose lease was lost before they could be settled (another worker owns them now). */
    lost: number;
}

export interface WorkerRun {
    db: Db;
    topics: string[];
    worker: string;
    clock: () => Date;
    log: Logger;
    settings: WorkerSettings;
    process: (message: OutboxMessage, signal: AbortSignal) => Promise<Outcome>;
}

/** How long a message may take: the lease minus a margin to settle it before the lease ends. */
export function messageDeadlineMs(settings: WorkerSettings): number {
    const lease = settings.visibility_seconds * 1000;
    return lease - Math.min(5_000, Math.floor(lease / 4));
}

export async function runOutboxWorker(run: WorkerRun): Promise<RunSummary> {
    const { db, settings, log } = run;
    const summary: RunSummary = { rounds: 0, claimed: 0, done: 0, retried: 0, dead: 0, lost: 0 };
    const started = run.clock().getTime();
    let more = true;
    while (more && run.clock().getTime() - started < settings.budget_ms) {
        more = false;
        summary.rounds += 1;
        for (const topic of run.topics) {
            const claimed = await claim(db, topic, settings, run.worker, run.clock());
            summary.claimed += claimed.length;
            if (claimed.length === settings.batch) more = true;
            const done: string[] = [];
            await Promise.all(claimed.map((message) => settle(run, message, summary, done)));
            await completeAll(run, done, summary);
        }
    }
    if (summary.claimed) log.info('outbox run finished', { topics: run.topics, ...summary });
    return summary;
}

async function claim(db: Db, topic: string, settings: WorkerSettings, worker: string, now: Date): Promise<OutboxMessage[]> {
    const { rows } = await db.query(
        `select id::text, topic, aggregate_type, aggregate_id, payload, idempotency_key, attempts
         from public.claim_outbox_batch($1, $2, make_interval(secs => $3), $4, $5)`,
        [topic, settings.batch, settings.visibility_seconds, worker, now],
    );
    return rows as OutboxMessage[];
}

/** Completes the round's messages that carry no result, in one statement. */
async function completeAll(run: WorkerRun, ids: string[], summary: RunSummary): Promise<void> {
    if (!ids.length) return;
    const { rows } = await run.db.query<{ n: number }>('select public.complete_outbox_messages($1::bigint[], $2) as n', [ids, run.clock()]);
    const completed = rows[0]!.n;
    summary.done += completed;
    if (completed < ids.length) {
        run.log.warn('outbox message leases lost before they were settled', { lost: ids.length - completed });
        summary.lost += ids.length - completed;
    }
}

async function settle(run: WorkerRun, message: OutboxMessage, summary: RunSummary, done: string[]): Promise<void> {
    const log = run.log.with({ outbox_id: message.id, topic: message.topic, aggregate_id: message.aggregate_id, attempt: message.attempts });
    const deadline = AbortSignal.timeout(messageDeadlineMs(run.settings));
    let outcome: Outcome;
    try {
        outcome = await run.process(message, deadline);
    } catch (error) {
        // A bug or an unexpected failure: retried like a transient error, and said.
        log.error('outbox message failed unexpectedly', { error });
        outcome = { kind: 'retry', error: `unexpected: ${(error as Error).message}` };
    }
    try {
        const now = run.clock();
        if (outcome.kind === 'done' && !outcome.result) {
            done.push(message.id);
        } else if (outcome.kind === 'done') {
            await run.db.query('select public.complete_outbox_message($1, $2, $3)', [message.id, outcome.result, now]);
            summary.done += 1;
        } else if (outcome.kind === 'dead') {
            await run.db.query('select public.dead_letter_outbox_message($1, $2)', [message.id, outcome.error.slice(0, 2000)]);
            log.error('outbox message dead-lettered (permanent failure)', { error: outcome.error });
            summary.dead += 1;
        } else {
            const { rows } = await run.db.query<{ r: { status: string } }>(
                'select public.fail_outbox_message($1, $2, $3, make_interval(secs => $4), make_interval(secs => $5)) as r',
                [message.id, outcome.error.slice(0, 2000), now, run.settings.retry_base_ms / 1000, run.settings.retry_max_ms / 1000],
            );
            if (rows[0]?.r.status === 'dead') {
                log.error('outbox message dead-lettered after its last attempt', { error: outcome.error });
                summary.dead += 1;
            } else {
                log.warn('outbox message will be retried', { error: outcome.error });
                summary.retried += 1;
            }
        }
    } catch (error) {
        // TB001: the lease ran out and the message was claimed again (or settled) elsewhere.
        if ((error as { code?: string }).code === 'TB001') {
            log.warn('outbox message lease lost before it was settled', { error });
            summary.lost += 1;
            return;
        }
        if (isDatabaseUnavailable(error) || !(error instanceof Error) || typeof (error as { code?: unknown }).code !== 'string') throw error;
        // The database refused the outcome itself (e.g. an ERP document already linked to
        // another order): a retry would meet the same refusal, so staff see it as a dead letter.
        await run.db.query('select public.dead_letter_outbox_message($1, $2)', [message.id, `recording the outcome failed: ${error.message}`.slice(0, 2000)]);
        log.error('outbox message dead-lettered: its outcome could not be recorded', { error });
        summary.dead += 1;
    }
}

/** What a scheduled outbox job's HTTP handler needs besides its own processing. */
export interface OutboxJobDeps {
    db: Db;
    serviceKeys: readonly string[];
    worker: string;
    clock: () => Date;
    log: Logger;
}

/**
 * The HTTP side of a scheduled outbox job (erp-sync, notifications): POST by the service
 * role with the run's settings (`WorkerSettings`), one worker run over `topics`, its summary.
 */
export async function handleOutboxJob(
    request: Request,
    deps: OutboxJobDeps,
    job: Pick<WorkerRun, 'topics' | 'log' | 'process'>,
): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    try {
        if (request.method !== 'POST') throw new HttpError(405, 'invalid_argument', 'POST only');
        requireServiceRole(request, deps.serviceKeys);
        const settings = parseInput(WorkerSettings, await readJson(request));
        return json(await runOutboxWorker({ db: deps.db, worker: deps.worker, clock: deps.clock, settings, ...job }));
    } catch (error) {
        return errorResponse(error, deps.log);
    }
}
