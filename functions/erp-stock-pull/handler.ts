// erp-stock-pull: for ERPs that cannot push. Scheduled (service role); reads every stock
// level through the adapter's listStock and applies them as one inbound message, through
// the same SQL as the webhook (ledger, conflicts, never over a newer observation).
import type { Db } from '../_shared/db.ts';
import { ErpError, type ErpAdapter } from '../_shared/erp/adapter.ts';
import { requireServiceRole } from '../_shared/service-role.ts';
import { errorResponse } from '../_shared/errors.ts';
import { HttpError, json, preflight } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';

export interface StockPullDeps {
    /** The keys that stand for the service role (scheduled calls carry one): see _shared/service-role.ts. */
    serviceKeys: readonly string[];
    db: Db;
    erp: ErpAdapter;
    clock: () => Date;
    log: Logger;
}

export async function handle(request: Request, deps: StockPullDeps): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    try {
        if (request.method !== 'POST') throw new HttpError(405, 'invalid_argument', 'POST only');
        requireServiceRole(request, deps.serviceKeys);
        const observedAt = deps.clock();
        let stock;
        try {
            stock = await deps.erp.listStock({ signal: AbortSignal.timeout(30_000) });
        } catch (error) {
            if (error instanceof ErpError) {
                deps.log.error('stock pull failed', { error });
                throw new HttpError(503, 'unavailable', `The ERP did not answer the stock query: ${error.message}`);
            }
            throw error;
        }
        const { rows } = await deps.db.query<{ outcome: { status: string; lines?: Array<{ status: string }> } }>(
            'select public.apply_erp_message($1, $2, $3, $4) as outcome',
            [`pull:${deps.erp.name}:${observedAt.toISOString()}`, 'pull', observedAt, { stock }],
        );
        const outcome = rows[0]!.outcome;
        const counts: Record<string, number> = {};
        for (const line of outcome.lines ?? []) counts[line.status] = (counts[line.status] ?? 0) + 1;
        deps.log.info('stock pulled', { skus: stock.length, ...counts });
        return json({ status: outcome.status, skus: stock.length, lines: counts });
    } catch (error) {
        return errorResponse(error, deps.log);
    }
}
