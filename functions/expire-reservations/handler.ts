// The expire-reservations job: every minute (scheduler.jobs), release the stock of unpaid
// orders whose deadline passed. Service role only. It calls public.expire_reservations in
// batches, each its own transaction, until a batch comes back short (or the round limit,
// so one run stays well inside the edge runtime's wall clock), and answers a summary.
import { z } from 'zod';
import type { Db } from '../_shared/db.ts';
import { errorResponse, parseInput } from '../_shared/errors.ts';
import { HttpError, json, preflight, readJson } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { requireServiceRole } from '../_shared/service-role.ts';

export interface ExpireReservationsDeps {
    db: Pick<Db, 'query'>;
    /** Keys that stand for the service role (see _shared/service-role.ts). */
    serviceKeys: readonly string[];
    /** The job's clock: "now" for the deadlines. */
    now: () => Date;
    log: Logger;
}

export interface ExpirySummary {
    expired_orders: number;
    released_reservations: number;
    released_units: number;
    batches: number;
}

const Body = z.object({
    /** Orders per batch (one transaction each). */
    batch: z.number().int().min(1).max(10_000).default(500),
});

/** At most this many batches per run; the next run (a minute later) takes the rest. */
export const MAX_BATCHES = 20;

export async function handle(request: Request, deps: ExpireReservationsDeps): Promise<Response> {
    const cors = preflight(request);
    if (cors) return cors;
    try {
        requireServiceRole(request, deps.serviceKeys);
        if (request.method !== 'POST') throw new HttpError(405, 'invalid_argument', 'Use POST');
        const body = parseInput(Body, await readJson(request));
        const summary = await expireReservations(deps, body.batch);
        deps.log.info('reservations expired', { ...summary });
        return json(summary);
    } catch (error) {
        return errorResponse(error, deps.log);
    }
}

/** Runs expire_reservations batch after batch at one "now". */
export async function expireReservations(deps: Pick<ExpireReservationsDeps, 'db' | 'now'>, batch: number): Promise<ExpirySummary> {
    const now = deps.now();
    const summary: ExpirySummary = { expired_orders: 0, released_reservations: 0, released_units: 0, batches: 0 };
    while (summary.batches < MAX_BATCHES) {
        const { rows } = await deps.db.query<{ r: Omit<ExpirySummary, 'batches'> }>('select public.expire_reservations($1, $2) as r', [now, batch]);
        const result = rows[0]!.r;
        summary.batches += 1;
        summary.expired_orders += result.expired_orders;
        summary.released_reservations += result.released_reservations;
        summary.released_units += result.released_units;
        if (result.expired_orders < batch) break;
    }
    return summary;
}
