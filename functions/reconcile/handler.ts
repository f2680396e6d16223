// reconcile (scheduled nightly, service role): makes the database agree with Stripe
// when webhooks were missed, refused or failed.
//   1. events recorded but never applied (their apply failed) are applied again;
//   2. Stripe's events of the last `days` (the Events API keeps 30) of the handled types
//      that the database has not recorded are applied, oldest first;
//   3. orders still pending_payment after `stuck_after_minutes` are checked against
//      their PaymentIntent / Checkout Session: a final state Stripe knows and we do not
//      is applied as a synthetic event `evt_reconcile_<object id>_<state>` (recorded
//      like any event, so a second run changes nothing).
// Returns (and logs) what it fixed.
import type Stripe from 'stripe';
import { z } from 'zod';
import { requireServiceRole } from '../_shared/service-role.ts';
import type { Db } from '../_shared/db.ts';
import { errorResponse, parseInput } from '../_shared/errors.ts';
import { json, preflight, readJson } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { applyStripeEvent, HANDLED_EVENT_TYPES, type ApplyOutcome } from '../_shared/stripe-events.ts';
import { stripeFailure } from '../_shared/stripe.ts';

export interface ReconcileDeps {
    /** The keys that stand for the service role (scheduled calls carry one): see _shared/service-role.ts. */
    serviceKeys: readonly string[];
    db: Db;
    stripe: Stripe;
    now: () => Date;
    log: Logger;
}

const Input = z
    .object({
        days: z.number().int().min(1).max(30).default(30),
        stuck_after_minutes: z.number().int().min(1).max(7 * 24 * 60).default(15),
        max_events: z.number().int().min(1).max(50_000).default(5_000),
        max_orders: z.number().int().min(1).max(5_000).default(500),
    })
    .strict();
type Input = z.infer<typeof Input>;

export interface ReconcileReport {
    retried: ApplyOutcome[];
    events: { listed: number; already_recorded: number; applied: ApplyOutcome[] };
    orders: { checked: number; fixed: ApplyOutcome[] };
}

export async function handle(request: Request, deps: ReconcileDeps): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    const log = deps.log.with({ request_id: request.headers.get('x-request-id') ?? undefined });
    try {
        requireServiceRole(request, deps.serviceKeys);
        const input = parseInput(Input, await readJson(request));
        const report = await reconcile({ ...deps, log }, input).catch((error: unknown) => {
            throw stripeFailure(error);
        });
        log.info('reconciled', {
            retried: report.retried.length,
            events_listed: report.events.listed,
            events_applied: report.events.applied.length,
            orders_checked: report.orders.checked,
            orders_fixed: report.orders.fixed.length,
        });
        return json(report);
    } catch (error) {
        return errorResponse(error, log);
    }
}

export async function reconcile(deps: ReconcileDeps, input: Input): Promise<ReconcileReport> {
    const report: ReconcileReport = { retried: [], events: { listed: 0, already_recorded: 0, applied: [] }, orders: { checked: 0, fixed: [] } };
    const since = new Date(deps.now().getTime() - input.days * 24 * 3600 * 1000);

    // 1. Recorded, never applied.
    const failed = await deps.db.query<{ id: string; type: string; payload: unknown }>(
        `select id, type, payload from private.stripe_events where status = 'received' and received_at >= $1 order by created, id limit $2`,
        [since, input.max_events],
    );
    for (const row of failed.rows) {
        report.retried.push(await applyStripeEvent(deps.db, JSON.stringify(row.payload), row, deps.log));
    }

    // 2. Missed: Stripe has it, we do not. The Events API lists newest first; apply oldest first.
    const missed: Stripe.Event[] = [];
    let page: Stripe.Event[] = [];
    const flush = async () => {
        if (!page.length) return;
        const known = await deps.db.query<{ id: string }>('select id from private.stripe_events where id = any($1)', [page.map((e) => e.id)]);
        const recorded = new Set(known.rows.map((r) => r.id));
        report.events.already_recorded += recorded.size;
        missed.push(...page.filter((e) => !recorded.has(e.id)));
        page = [];
    };
    for await (const event of deps.stripe.events.list({
        types: [...HANDLED_EVENT_TYPES],
        created: { gte: Math.floor(since.getTime() / 1000) },
        limit: 100,
    })) {
        report.events.listed++;
        page.push(event);
        if (page.length === 100) await flush();
        if (report.events.listed >= input.max_events) break;
    }
    await flush();
    for (const event of missed.reverse()) {
        report.events.applied.push(await applyStripeEvent(deps.db, JSON.stringify(event), event, deps.log));
    }

    // 3. Stuck orders, against Stripe's current state of their payment.
    const stuck = await deps.db.query<{ order_id: string; payment_intent: string | null; checkout_session: string | null }>(
        `select o.id as order_id, p.stripe_payment_intent_id as payment_intent, p.stripe_checkout_session_id as checkout_session
         from public.orders o join public.payments p on p.order_id = o.id
         where o.status = 'pending_payment' and o.created_at <= $1
         order by o.created_at limit $2`,
        [new Date(deps.now().getTime() - input.stuck_after_minutes * 60 * 1000), input.max_orders],
    );
    for (const order of stuck.rows) {
        report.orders.checked++;
        const event = await currentState(deps, order);
        if (!event) continue;
        const outcome = await applyStripeEvent(deps.db, JSON.stringify(event), event, deps.log);
        if (outcome.status === 'applied') report.orders.fixed.push(outcome);
    }
    return report;
}

/** The event Stripe would have sent for the payment's current final state, if it has one. */
async function currentState(
    deps: ReconcileDeps,
    order: { payment_intent: string | null; checkout_session: string | null },
): Promise<{ id: string; type: string } | undefined> {
    const synthetic = (type: string, object: { id: string }, state: string) => ({
        id: `evt_reconcile_${object.id}_${state}`,
        object: 'event',
        type,
        created: Math.floor(deps.now().getTime() / 1000),
        livemode: false,
        pending_webhooks: 0,
        request: { id: null, idempotency_key: null },
        data: { object },
    });
    if (order.checkout_session) {
        const session = await deps.stripe.checkout.sessions.retrieve(order.checkout_session);
        if (session.status === 'complete' && session.payment_status === 'paid') return synthetic('checkout.session.completed', session, 'paid');
        if (session.status === 'expired') return synthetic('checkout.session.expired', session, 'expired');
        return undefined;
    }
    if (!order.payment_intent) return undefined;
    const intent = await deps.stripe.paymentIntents.retrieve(order.payment_intent);
    if (intent.status === 'succeeded') return synthetic('payment_intent.succeeded', intent, 'succeeded');
    if (intent.status === 'canceled') return synthetic('payment_intent.canceled', intent, 'canceled');
    if (intent.status === 'requires_capture') return synthetic('payment_intent.amount_capturable_updated', intent, 'authorized');
    return undefined;
}
