// checkout: a signed-in customer's cart (or items) becomes an order, paid through a
// PaymentIntent (client_secret for Stripe Elements) or a Checkout Session (hosted page).
//
// 1. place_order as the caller (supabase-js with their JWT: RLS, limits and stock
//    checks of the SQL API apply); the caller's idempotency key makes it the same order.
// 2. With the service role: the order's payment if one is attached already (a repeated
//    call returns it), else the user's Stripe customer, then the PaymentIntent /
//    Checkout Session under an idempotency key derived from the order, recorded with
//    attach_payment. A session expires exactly when the order's reservation does.
// Stripe down → 503 `unavailable`; the order stays reserved, and the same request
// later picks up where this one stopped (same order, same Stripe keys).
import type Stripe from 'stripe';
import {
    CheckoutRequest,
    type CheckoutResponse,
    type CheckoutSessionCheckout,
    type PaymentIntentCheckout,
} from '../../sdk/src/contract/index.ts';
import { signedInUser } from '../_shared/caller.ts';
import type { Db } from '../_shared/db.ts';
import { apiError, errorResponse, parseInput, sqlFailure } from '../_shared/errors.ts';
import { HttpError, json, preflight, readJson } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { isIdempotencyKeyInUse, stripeFailure } from '../_shared/stripe.ts';
import type { UserClientFactory } from '../_shared/user-client.ts';
import { ensureStripeCustomer } from './customer.ts';
import {
    checkoutSessionParams,
    idempotencyKeys,
    paymentIntentParams,
    SESSION_CLOCK_MARGIN_MS,
    SESSION_EXTENSION_MS,
    SESSION_MIN_LIFETIME_MS,
    type CheckoutOrder,
    type OrderLine,
} from './payment.ts';

export interface CheckoutDeps {
    /** Service-role pool (functions/_shared/db.ts). */
    db: Db;
    stripe: Stripe;
    userClient: UserClientFactory;
    now: () => Date;
    log: Logger;
}

interface PlacedOrder extends CheckoutOrder {
    user_id: string;
    status: string;
    expires_at: string;
}

interface AttachedPayment {
    stripe_payment_intent_id: string | null;
    stripe_checkout_session_id: string | null;
}

export async function handle(request: Request, deps: CheckoutDeps): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    const log = deps.log.with({ request_id: request.headers.get('x-request-id') ?? undefined });
    try {
        if (request.method !== 'POST') throw apiError('invalid_argument', 'checkout accepts POST only');
        const caller = signedInUser(request);
        const input = parseInput(CheckoutRequest, await readJson(request));
        if (input.items?.length === 0) throw apiError('empty_cart', 'The order has no lines');

        const order = await placeOrder(deps, caller.token, input);
        const orderLog = log.with({ order_id: order.id });
        const response = await payWhenKeyFree(deps, order, input, orderLog).catch((error: unknown) => {
            throw error instanceof HttpError ? error : stripeFailure(error, { order_id: order.id, order_number: order.number });
        });
        orderLog.info('checkout ready', { mode: response.mode });
        return json(response);
    } catch (error) {
        return errorResponse(error, log);
    }
}

/** place_order as the caller; SQL API errors become the contract's codes. */
async function placeOrder(deps: CheckoutDeps, token: string, input: CheckoutRequest): Promise<PlacedOrder> {
    const client = deps.userClient(token);
    const { data, error } = await client.rpc('place_order', {
        p_idempotency_key: input.idempotency_key,
        ...(input.cart_id ? { p_cart_id: input.cart_id } : { p_items: input.items }),
    });
    if (error) {
        const mapped = sqlFailure(error);
        if (mapped) throw mapped;
        if (error.code === 'PGRST301' || error.code === 'PGRST303') throw apiError('unauthenticated', 'The session expired; sign in again');
        throw apiError('unavailable', 'The shop is briefly unavailable; retry the same request', { reason: error.message });
    }
    const row = data as unknown as PlacedOrder;
    return { ...row, total_amount: Number(row.total_amount), subtotal_amount: Number(row.subtotal_amount), discount_amount: Number(row.discount_amount), shipping_amount: Number(row.shipping_amount), tax_amount: Number(row.tax_amount) };
}

/** How long a checkout waits for a concurrent one of the same order (waits of 100, 200, … ms). */
const KEY_IN_USE_WAITS = 9;

/**
 * Concurrent checkouts of one order (a double click, a retrying client) send Stripe the
 * same idempotency keys, and Stripe answers all but the first with 409
 * `idempotency_key_in_use` while it runs; the SDK's own retries can run out before it
 * ends. That first request ends soon: wait and start over — by then its payment is
 * attached, and this call answers with it.
 */
async function payWhenKeyFree(deps: CheckoutDeps, order: PlacedOrder, input: CheckoutRequest, log: Logger): Promise<CheckoutResponse> {
    for (let wait = 1; ; wait++) {
        try {
            return await pay(deps, order, input, log);
        } catch (error) {
            if (!isIdempotencyKeyInUse(error) || wait > KEY_IN_USE_WAITS) throw error;
            log.info('another checkout of the order is running: waiting for it', { wait });
            await new Promise((resolve) => setTimeout(resolve, 100 * wait));
        }
    }
}

async function pay(deps: CheckoutDeps, order: PlacedOrder, input: CheckoutRequest, log: Logger): Promise<CheckoutResponse> {
    const { db, stripe } = deps;
    const base = { order_id: order.id, order_number: order.number, amount: order.total_amount, currency: order.currency };
    const attached = await attachedPayment(db, order.id);
    if (attached) return existingPayment(stripe, base, attached, input.mode, order);

    if (order.status !== 'pending_payment') {
        throw apiError('conflict', `Order ${order.number} is ${order.status}; place a new order with a new idempotency key`, { order_id: order.id, status: order.status });
    }
    const now = deps.now();
    if (new Date(order.expires_at) <= now) {
        throw apiError('conflict', `The reservation of order ${order.number} ran out; place a new order with a new idempotency key`, { order_id: order.id });
    }
    const customer = await ensureStripeCustomer(db, stripe, order.user_id, order.email);

    if (input.mode === 'payment_intent') {
        const intent = await stripe.paymentIntents.create(paymentIntentParams(order, customer), { idempotencyKey: idempotencyKeys.paymentIntent(order.id) });
        await attach(db, order, { paymentIntent: intent.id });
        log.info('payment intent attached', { payment_intent: intent.id });
        return { ...base, mode: 'payment_intent', payment_intent_id: intent.id, client_secret: intent.client_secret! } satisfies PaymentIntentCheckout;
    }

    const deadline = await extendDeadline(db, order.id, now);
    const expiresAt = Math.floor(deadline.getTime() / 1000);
    const lines = await orderLines(db, order.id);
    const session = await stripe.checkout.sessions.create(
        checkoutSessionParams(order, lines, customer, { success_url: input.success_url!, cancel_url: input.cancel_url }, expiresAt),
        { idempotencyKey: idempotencyKeys.checkoutSession(order.id, expiresAt) },
    );
    await attach(db, order, { checkoutSession: session.id });
    log.info('checkout session attached', { checkout_session: session.id, expires_at: deadline.toISOString() });
    return { ...base, mode: 'checkout_session', checkout_session_id: session.id, url: session.url!, expires_at: deadline.toISOString() } satisfies CheckoutSessionCheckout;
}

/** A repeated checkout of an order that already has its payment: the same one, from Stripe. */
async function existingPayment(
    stripe: Stripe,
    base: Omit<PaymentIntentCheckout, 'mode' | 'payment_intent_id' | 'client_secret'>,
    attached: AttachedPayment,
    mode: CheckoutRequest['mode'],
    order: PlacedOrder,
): Promise<CheckoutResponse> {
    if (mode === 'checkout_session' && attached.stripe_checkout_session_id) {
        const session = await stripe.checkout.sessions.retrieve(attached.stripe_checkout_session_id);
        if (session.status !== 'open' || !session.url) {
            throw apiError('conflict', `The checkout session of order ${order.number} is ${session.status}`, { order_id: order.id, status: order.status });
        }
        return { ...base, mode, checkout_session_id: session.id, url: session.url, expires_at: new Date(session.expires_at * 1000).toISOString() };
    }
    if (mode === 'payment_intent' && attached.stripe_payment_intent_id && !attached.stripe_checkout_session_id) {
        const intent = await stripe.paymentIntents.retrieve(attached.stripe_payment_intent_id);
        return { ...base, mode, payment_intent_id: intent.id, client_secret: intent.client_secret! };
    }
    const other = attached.stripe_checkout_session_id ? 'a Checkout Session' : 'a PaymentIntent';
    throw apiError('conflict', `Order ${order.number} is already being paid with ${other}; repeat the checkout in that mode`, { order_id: order.id });
}

async function attachedPayment(db: Db, orderId: string): Promise<AttachedPayment | undefined> {
    const { rows } = await db.query<AttachedPayment>(
        'select stripe_payment_intent_id, stripe_checkout_session_id from public.payments where order_id = $1',
        [orderId],
    );
    return rows[0];
}

async function attach(db: Db, order: PlacedOrder, ids: { paymentIntent?: string; checkoutSession?: string }): Promise<void> {
    try {
        await db.query('select public.attach_payment($1, $2, $3)', [order.id, ids.paymentIntent ?? null, ids.checkoutSession ?? null]);
    } catch (error) {
        const mapped = sqlFailure(error as { code?: string; message?: string });
        if (mapped) throw mapped;
        throw error;
    }
}

/**
 * The deadline the Checkout Session carries: the order's reservation, extended when it
 * ends sooner than Stripe's 30-minute minimum (see extend_payment_deadline). A call
 * within the margin of the extending one leaves it as it is, so concurrent and repeated
 * checkouts derive the same deadline — and the same idempotency key.
 */
async function extendDeadline(db: Db, orderId: string, now: Date): Promise<Date> {
    try {
        const { rows } = await db.query<{ deadline: Date }>('select public.extend_payment_deadline($1, $2, $3, $4) as deadline', [
            orderId,
            new Date(now.getTime() + SESSION_MIN_LIFETIME_MS + SESSION_CLOCK_MARGIN_MS),
            new Date(now.getTime() + SESSION_EXTENSION_MS),
            now,
        ]);
        return new Date(rows[0]!.deadline);
    } catch (error) {
        const mapped = sqlFailure(error as { code?: string; message?: string });
        if (mapped) throw mapped;
        throw error;
    }
}

async function orderLines(db: Db, orderId: string): Promise<OrderLine[]> {
    const { rows } = await db.query<{ name: string; unit_price_amount: string; quantity: number }>(
        'select name, unit_price_amount, quantity from public.order_items where order_id = $1 order by name, id',
        [orderId],
    );
    return rows.map((r) => ({ name: r.name, unit_price_amount: Number(r.unit_price_amount), quantity: r.quantity }));
}
