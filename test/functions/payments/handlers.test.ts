// The payment handlers in-process under Node: `handle(request, deps)` with real
// dependencies (the test database, REST for the caller's own calls, the Stripe fake
// through the official SDK) and an injected clock — the cases that need a fault or a
// clock: bad input, Stripe down, reservations that ran out, forged and stale webhooks,
// an event whose apply fails and is applied later.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_STRIPE_SECRET_KEY } from '../../../stack/fakes/stripe/index.js';
import { isErrorCode } from '../../../sdk/src/contract/index.ts';
import { handle as checkout, type CheckoutDeps } from '../../../functions/checkout/handler.ts';
import { createDb, type Db } from '../../../functions/_shared/db.ts';
import { createLogger } from '../../../functions/_shared/log.ts';
import { createStripe, stripeCrypto } from '../../../functions/_shared/stripe.ts';
import { userClientFactory } from '../../../functions/_shared/user-client.ts';
import { handle as webhook, type WebhookDeps } from '../../../functions/stripe-webhook/handler.ts';
import { handle as reconcileHandler } from '../../../functions/reconcile/handler.ts';
import { createShop, snapshot, stripeEvent, type Shop } from '../../harness/commerce-shop.js';
import { NO_REALTIME, useStack, type SignedIn } from '../../harness/stack.js';
import { signEvent } from '../../harness/stripe-webhooks.js';

const stack = useStack();
let shop: Shop;
let db: Db;
const logs: string[] = [];
const log = createLogger({}, (line) => logs.push(line));
let offset = 0;
const now = () => new Date(Date.now() + offset);

beforeAll(async () => {
    shop = await createShop(stack.db);
    db = createDb(stack.db.url);
});

afterAll(async () => {
    await db?.end();
});

function checkoutDeps(overrides: Partial<CheckoutDeps> = {}): CheckoutDeps {
    return {
        db,
        stripe: createStripe({ STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY, STRIPE_API_URL: stack.stripe.url }, { maxNetworkRetries: 0 }),
        userClient: userClientFactory({ SUPABASE_URL: stack.url, SUPABASE_ANON_KEY: stack.keys.anon }, { realtime: NO_REALTIME }),
        now,
        log,
        ...overrides,
    };
}

function webhookDeps(overrides: Partial<WebhookDeps> = {}): WebhookDeps {
    return { db, stripe: stack.stripeSdk(), webhookSecret: stack.webhookSecret, cryptoProvider: stripeCrypto, now, log, ...overrides };
}

async function post(handler: (request: Request) => Promise<Response>, body: unknown, headers: Record<string, string>) {
    const response = await handler(
        new Request('http://functions.local/x', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const checkoutAs = async (who: SignedIn, body: unknown, deps = checkoutDeps()) => post((r) => checkout(r, deps), body, { authorization: `Bearer ${await who.token()}` });
const items = (quantity = 1, variant = 0) => [{ variant_id: shop.variants[variant]!.id, quantity }];
const key = () => `key-${Math.random().toString(36).slice(2)}`;

describe('checkout input', () => {
    it.each([
        ['no mode', { idempotency_key: 'k', items: [{ variant_id: '30000000-0000-4000-8000-000000000001', quantity: 1 }] }, 'mode'],
        ['both a cart and items', { mode: 'payment_intent', idempotency_key: 'k', cart_id: '30000000-0000-4000-8000-000000000001', items: [] }, 'cart_id'],
        ['a quantity of 0', { mode: 'payment_intent', idempotency_key: 'k', items: [{ variant_id: '30000000-0000-4000-8000-000000000001', quantity: 0 }] }, 'items.0.quantity'],
        ['a session without success_url', { mode: 'checkout_session', idempotency_key: 'k', items: [{ variant_id: '30000000-0000-4000-8000-000000000001', quantity: 1 }] }, 'success_url'],
        ['an unknown field', { mode: 'payment_intent', idempotency_key: 'k', items: [], price: 1 }, '(body)'],
    ])('refuses %s with 400 invalid_argument naming the field, writing nothing', async (_name, body, field) => {
        const ada = await stack.customer();
        const before = await snapshot(stack.db);
        const { status, body: answer } = await checkoutAs(ada, body);
        expect(status).toBe(400);
        expect(answer).toMatchObject({ code: 'invalid_argument' });
        expect((answer.details as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toContain(field);
        expect(await snapshot(stack.db)).toEqual(before);
    });

    it('refuses an empty item list with 422 empty_cart', async () => {
        const { status, body } = await checkoutAs(await stack.customer(), { mode: 'payment_intent', idempotency_key: key(), items: [] });
        expect(status).toBe(422);
        expect(body.code).toBe('empty_cart');
    });

    it('refuses an empty cart with a 4xx contract code before Stripe is called, writing nothing', async () => {
        const ada = await stack.customer();
        const { data: cart } = await stack.service().from('carts').insert({ user_id: ada.userId }).select('id').single();
        const before = await snapshot(stack.db);
        const intents = stack.stripe.account.paymentIntents.size;
        const { status, body } = await checkoutAs(ada, { mode: 'payment_intent', idempotency_key: key(), cart_id: cart!.id });
        // place_order decides the code (TB007 → empty_cart, 422, with the shop limits change).
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
        expect(isErrorCode(body.code)).toBe(true);
        expect(await snapshot(stack.db)).toEqual(before);
        expect(stack.stripe.account.paymentIntents.size).toBe(intents);
    });

    it('refuses the anon key (no user) with 401 unauthenticated', async () => {
        const { status, body } = await post((r) => checkout(r, checkoutDeps()), { mode: 'payment_intent', idempotency_key: key(), items: items() }, { authorization: `Bearer ${stack.keys.anon}` });
        expect(status).toBe(401);
        expect(body.code).toBe('unauthenticated');
    });

    it('answers a sold-out line 409 insufficient_stock, with no order and nothing at Stripe', async () => {
        const ada = await stack.customer();
        const [scarce] = await stack.db.query<{ id: string }>(
            `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, 'Scarce', 5000, 'EUR') returning id`,
            [shop.productId, `SCARCE-${key()}`],
        );
        await stack.db.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, 1)', [scarce!.id]);
        const before = await snapshot(stack.db);
        const intents = stack.stripe.account.paymentIntents.size;
        const { status, body } = await checkoutAs(ada, { mode: 'payment_intent', idempotency_key: key(), items: [{ variant_id: scarce!.id, quantity: 2 }] });
        expect(status).toBe(409);
        expect(body.code).toBe('insufficient_stock');
        expect(await snapshot(stack.db)).toEqual(before);
        expect(stack.stripe.account.paymentIntents.size).toBe(intents);
    });
});

describe('checkout when Stripe is down', () => {
    it('answers 503 unavailable, keeps the order reserved without a payment, and the same request later pays that order', async () => {
        const ada = await stack.customer();
        const request = { mode: 'payment_intent', idempotency_key: key(), items: items(2) };
        stack.stripe.faults.failNext(1);
        const down = await checkoutAs(ada, request);
        expect(down.status).toBe(503);
        expect(down.body).toMatchObject({ code: 'unavailable', details: { order_id: expect.any(String) } });
        const orderId = (down.body.details as { order_id: string }).order_id;
        const [order] = await stack.db.query<{ status: string; payments: string }>(
            `select o.status, (select count(*) from public.payments p where p.order_id = o.id)::text as payments from public.orders o where o.id = $1`,
            [orderId],
        );
        expect(order).toEqual({ status: 'pending_payment', payments: '0' });
        expect(await stack.db.query(`select status from public.inventory_reservations where order_id = $1`, [orderId])).toEqual([{ status: 'active' }]);

        const up = await checkoutAs(ada, request);
        expect(up.status).toBe(200);
        expect(up.body.order_id).toBe(orderId);
        const [payment] = await stack.db.query<{ stripe_payment_intent_id: string }>('select stripe_payment_intent_id from public.payments where order_id = $1', [orderId]);
        expect(payment!.stripe_payment_intent_id).toBe(up.body.payment_intent_id);
    });

    it('answers 503 when Stripe cannot be reached at all', async () => {
        const unreachable = createStripe({ STRIPE_SECRET_KEY: 'sk_test_unreachable', STRIPE_API_URL: 'http://127.0.0.1:9' }, { maxNetworkRetries: 0 });
        const { status, body } = await checkoutAs(await stack.customer(), { mode: 'payment_intent', idempotency_key: key(), items: items() }, checkoutDeps({ stripe: unreachable }));
        expect(status).toBe(503);
        expect(body.code).toBe('unavailable');
    });
});

describe('checkout and the reservation deadline', () => {
    it('gives a Checkout Session the order\'s deadline, extended to Stripe\'s 30-minute minimum', async () => {
        const ada = await stack.customer();
        const { status, body } = await checkoutAs(ada, { mode: 'checkout_session', idempotency_key: key(), items: items(), success_url: 'http://shop.test/ok' });
        expect(status).toBe(200);
        const session = stack.stripe.account.sessions.get(body.checkout_session_id as string)!;
        const [order] = await stack.db.query<{ expires_at: Date; created_at: Date }>('select expires_at, created_at from public.orders where id = $1', [body.order_id]);
        expect(new Date(body.expires_at as string)).toEqual(order!.expires_at);
        expect(session.expires_at * 1000).toBe(order!.expires_at.getTime());
        expect(session.expires_at - session.created).toBeGreaterThanOrEqual(30 * 60);
        expect(order!.expires_at.getTime() - order!.created_at.getTime()).toBeGreaterThan(30 * 60_000);
    });

    it('refuses to start paying an order whose reservation ran out (409 conflict), without calling Stripe', async () => {
        const ada = await stack.customer();
        const request = { mode: 'payment_intent', idempotency_key: key(), items: items() };
        stack.stripe.faults.failNext(1);
        const first = await checkoutAs(ada, request);
        expect(first.status).toBe(503);
        offset = 31 * 60_000;
        try {
            const intents = stack.stripe.account.paymentIntents.size;
            const late = await checkoutAs(ada, request);
            expect(late.status).toBe(409);
            expect(late.body.code).toBe('conflict');
            expect(stack.stripe.account.paymentIntents.size).toBe(intents);
        } finally {
            offset = 0;
        }
    });

    it('answers a repeated checkout in the other mode 409 conflict', async () => {
        const ada = await stack.customer();
        const request = { idempotency_key: key(), items: items() };
        expect((await checkoutAs(ada, { ...request, mode: 'payment_intent' })).status).toBe(200);
        const other = await checkoutAs(ada, { ...request, mode: 'checkout_session', success_url: 'http://shop.test/ok' });
        expect(other.status).toBe(409);
        expect(other.body.code).toBe('conflict');
    });
});

describe('stripe-webhook', () => {
    const event = () => stripeEvent('customer.created');

    it('refuses a request without a signature, a forged one and one signed 301 s before its arrival, with 400 invalid_signature', async () => {
        const before = await snapshot(stack.db);
        const e = event();
        const unsigned = await post((r) => webhook(r, webhookDeps()), e, {});
        const forged = await signEvent(e, 'whsec_not_the_secret');
        const signed = await signEvent(e, stack.webhookSecret);
        const stale = await post((r) => webhook(r, webhookDeps({ now: () => new Date(Date.now() + 301_000) })), signed.payload, { 'stripe-signature': signed.signature });
        const forgedAnswer = await post((r) => webhook(r, webhookDeps()), forged.payload, { 'stripe-signature': forged.signature });
        for (const answer of [unsigned, forgedAnswer, stale]) {
            expect(answer.status).toBe(400);
            expect(answer.body.code).toBe('invalid_signature');
        }
        expect(stale.body.message).toBe('Timestamp outside the tolerance zone');
        expect(await snapshot(stack.db)).toEqual(before);
        // The same delivery 299 s old is accepted.
        const fresh = await post((r) => webhook(r, webhookDeps({ now: () => new Date(Date.now() + 299_000) })), signed.payload, { 'stripe-signature': signed.signature });
        expect(fresh.status).toBe(200);
    });

    it('answers a correctly signed body that is not JSON 400 invalid_argument', async () => {
        const signed = await signEvent('{"id": "evt_1", oops', stack.webhookSecret);
        const answer = await post((r) => webhook(r, webhookDeps()), signed.payload, { 'stripe-signature': signed.signature });
        expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_argument' } });
    });

    it('answers 503 when the event cannot be recorded (database unreachable)', async () => {
        const down = createDb('postgresql://postgres:postgres@127.0.0.1:9/postgres');
        try {
            const signed = await signEvent(event(), stack.webhookSecret);
            const answer = await post((r) => webhook(r, webhookDeps({ db: down })), signed.payload, { 'stripe-signature': signed.signature });
            expect(answer).toMatchObject({ status: 503, body: { code: 'unavailable' } });
        } finally {
            await down.end();
        }
    });

    it('records an event whose apply fails, answers 2xx, and applies it when Stripe delivers it again after the fix', async () => {
        const ada = await stack.customer();
        const placed = await checkoutAs(ada, { mode: 'payment_intent', idempotency_key: key(), items: items() });
        const orderId = placed.body.order_id as string;
        // A fault inside the database (not an outage): every payment update raises.
        await stack.db.query(`create function public.test_refuse_payments() returns trigger language plpgsql as $$ begin raise exception 'payments are frozen'; end $$`);
        await stack.db.query('create trigger test_refuse_payments before update on public.payments for each row execute function public.test_refuse_payments()');
        const succeeded = stripeEvent('payment_intent.succeeded', { orderId, paymentIntent: placed.body.payment_intent_id as string, amount: placed.body.amount as number });
        const signed = await signEvent(succeeded, stack.webhookSecret);
        try {
            const failed = await post((r) => webhook(r, webhookDeps()), signed.payload, { 'stripe-signature': signed.signature });
            expect(failed).toMatchObject({ status: 200, body: { status: 'failed' } });
            expect(await stack.db.query('select status, error from private.stripe_events where id = $1', [succeeded.id])).toEqual([
                { status: 'received', error: 'payments are frozen' },
            ]);
        } finally {
            await stack.db.query('drop trigger test_refuse_payments on public.payments; drop function public.test_refuse_payments()');
        }
        const again = await post((r) => webhook(r, webhookDeps()), signed.payload, { 'stripe-signature': signed.signature });
        expect(again).toMatchObject({ status: 200, body: { status: 'applied', order_status: 'paid' } });
    });
});

describe('reconcile', () => {
    it('is for the service role only', async () => {
        const ada = await stack.customer();
        const response = await post((r) => reconcileHandler(r, { db, stripe: stack.stripeSdk(), now, log, serviceKeys: [stack.keys.serviceRole] }), {}, { authorization: `Bearer ${await ada.token()}` });
        expect(response).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    });

    it('applies events the webhook never got, and a second run changes nothing', async () => {
        const ada = await stack.customer();
        const placed = await checkoutAs(ada, { mode: 'payment_intent', idempotency_key: key(), items: items() });
        const sdk = stack.stripeSdk();
        await sdk.paymentIntents.confirm(placed.body.payment_intent_id as string, { payment_method: 'pm_card_visa' }, { headers: { 'Stripe-Fake-Hold-Webhooks': 'true' } });
        const [pending] = await stack.db.query<{ status: string }>('select status from public.orders where id = $1', [placed.body.order_id]);
        expect(pending!.status).toBe('pending_payment');

        const run = () => post((r) => reconcileHandler(r, { db, stripe: sdk, now, log, serviceKeys: [stack.keys.serviceRole] }), { days: 1 }, { authorization: `Bearer ${stack.keys.serviceRole}` });
        const first = await run();
        expect(first.status).toBe(200);
        const applied = (first.body.events as { applied: Array<{ type: string; status: string; order_id?: string }> }).applied;
        expect(applied.filter((a) => a.order_id === placed.body.order_id).map((a) => [a.type, a.status])).toEqual([['payment_intent.succeeded', 'applied']]);
        const [paid] = await stack.db.query<{ status: string }>('select status from public.orders where id = $1', [placed.body.order_id]);
        expect(paid!.status).toBe('paid');
        const second = await run();
        expect((second.body.events as { applied: unknown[] }).applied).toEqual([]);
    });

    it('settles an order stuck in pending_payment from its PaymentIntent when the events are gone (older than 30 days)', async () => {
        const ada = await stack.customer();
        const placed = await checkoutAs(ada, { mode: 'payment_intent', idempotency_key: key(), items: items() });
        const sdk = stack.stripeSdk();
        await sdk.paymentIntents.confirm(placed.body.payment_intent_id as string, { payment_method: 'pm_card_visa' }, { headers: { 'Stripe-Fake-Hold-Webhooks': 'true' } });
        stack.clock.advance(31 * 24 * 3600 * 1000);
        const run = () =>
            post((r) => reconcileHandler(r, { db, stripe: sdk, now, log, serviceKeys: [stack.keys.serviceRole] }), { days: 30, stuck_after_minutes: 1 }, { authorization: `Bearer ${stack.keys.serviceRole}` });
        try {
            offset = 2 * 60_000;
            const report = await run();
            expect(report.status).toBe(200);
            const fixed = (report.body.orders as { fixed: Array<{ order_id: string; type: string; event_id: string }> }).fixed;
            expect(fixed.find((f) => f.order_id === placed.body.order_id)).toMatchObject({
                type: 'payment_intent.succeeded',
                event_id: `evt_reconcile_${placed.body.payment_intent_id}_succeeded`,
            });
            const [paid] = await stack.db.query<{ status: string }>('select status from public.orders where id = $1', [placed.body.order_id]);
            expect(paid!.status).toBe('paid');
            const again = await run();
            expect((again.body.orders as { fixed: unknown[] }).fixed).toEqual([]);
        } finally {
            offset = 0;
            stack.clock.advance(-31 * 24 * 3600 * 1000);
        }
    });
});

