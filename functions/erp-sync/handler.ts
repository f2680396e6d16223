// erp-sync: pushes paid orders (and their later changes) to the ERP from the outbox.
// Scheduled every few seconds with the service role. Each run claims `erp.order.upsert`
// messages in small batches, sends the order as it is now through the configured adapter
// (with the message's idempotency key), and completes the message (erp_links + the order's
// erp_status = synced, in one transaction), fails it (backoff; erp_status = failed) or
// dead-letters it (erp_status = dead). The SQL keeps one message per order in flight, so a
// later change never overtakes the first push.
import { z } from 'zod';
import type { Db } from '../_shared/db.ts';
import { ErpError, type ErpAdapter } from '../_shared/erp/adapter.ts';
import type { Logger } from '../_shared/log.ts';
import { loadOrder } from '../_shared/orders.ts';
import { handleOutboxJob, type OutboxMessage, type Outcome } from '../_shared/outbox.ts';

export const ERP_TOPIC = 'erp.order.upsert';

export interface ErpSyncDeps {
    /** The keys that stand for the service role (scheduled calls carry one): see _shared/service-role.ts. */
    serviceKeys: readonly string[];
    db: Db;
    erp: ErpAdapter;
    clock: () => Date;
    log: Logger;
    /** Names this worker in the outbox's locked_by. */
    worker: string;
}

const Payload = z.object({ order_id: z.string().uuid(), version: z.number().int().positive() });

/** One message: the order as it is now, upserted in the ERP. */
export async function pushOrder(deps: ErpSyncDeps, message: OutboxMessage, signal: AbortSignal): Promise<Outcome> {
    const payload = Payload.safeParse(message.payload);
    if (!payload.success) return { kind: 'dead', error: `malformed payload: ${payload.error.issues[0]?.message}` };
    const order = await loadOrder(deps.db, payload.data.order_id);
    if (!order) return { kind: 'dead', error: `order ${payload.data.order_id} does not exist` };
    try {
        const document = await deps.erp.upsertOrder(order, { idempotencyKey: message.idempotency_key, signal });
        return { kind: 'done', result: { ...document } };
    } catch (error) {
        if (error instanceof ErpError) return error.retryable ? { kind: 'retry', error: error.message } : { kind: 'dead', error: error.message };
        throw error;
    }
}

export async function handle(request: Request, deps: ErpSyncDeps): Promise<Response> {
    return handleOutboxJob(request, deps, {
        topics: [ERP_TOPIC],
        log: deps.log.with({ adapter: deps.erp.name }),
        process: (message, signal) => pushOrder(deps, message, signal),
    });
}
