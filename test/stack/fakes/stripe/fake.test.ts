// The Stripe fake through the official SDK (host/port/protocol), as the functions use it:
// objects, errors, Idempotency-Key semantics, test cards, sessions, refunds, the Events
// API, and webhooks whose signatures the SDK's own verifier accepts.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
    createStripeFake,
    LOCAL_STRIPE_PUBLISHABLE_KEY,
    LOCAL_STRIPE_SECRET_KEY,
    startStripeFake,
    type RunningStripeFake,
} from '../../../../stack/fakes/stripe/index.js';
import { listen, type Listening } from '../../../../stack/http.js';

const SECRET = 'whsec_test_fake_unit';
let clock = Date.UTC(2026, 10, 26, 12, 0, 0);
const now = () => clock;

/** Webhook receiver: verifies every delivery with the official SDK, answers what `answer` says. */
interface Receiver {
    url: string;
    received: Stripe.Event[];
    rejected: string[];
    answer: () => number;
    close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
    const verifier = new Stripe('sk_test_unused');
    const state: Omit<Receiver, 'url' | 'close'> = { received: [], rejected: [], answer: () => 200 };
    const server: Listening = await listen(
        async (request) => {
            const raw = await request.text();
            try {
                // The synchronous Node verifier, with the fake's clock as "received at".
                const event = verifier.webhooks.constructEvent(raw, request.headers.get('stripe-signature') ?? '', SECRET, 300, undefined, clock);
                const status = state.answer();
                if (status < 300) state.received.push(event);
                return new Response('{}', { status });
            } catch (error) {
                state.rejected.push((error as Error).message);
                return new Response('bad signature', { status: 400 });
            }
        },
        { port: 0 },
    );
    return Object.assign(state, { url: `${server.url}/hook`, close: () => server.close() });
}

let fake: RunningStripeFake;
let hook: Receiver;
let stripe: Stripe;

function sdk(key = LOCAL_STRIPE_SECRET_KEY, maxNetworkRetries = 0): Stripe {
    return new Stripe(key, { host: '127.0.0.1', port: fake.listening.port, protocol: 'http', maxNetworkRetries, telemetry: false });
}

beforeAll(async () => {
    hook = await receiver();
    fake = await startStripeFake({ now, sweepIntervalMs: 0, endpoints: [{ url: '', secret: SECRET }], retryDelaysMs: [] });
    fake.endpoints[0]!.url = hook.url;
    stripe = sdk();
});

afterAll(async () => {
    await fake.close();
    await hook.close();
});

const eventsOf = (id: string) =>
    fake.account.events.filter((e) => (e.data.object as { id: string }).id === id || (e.data.object as { payment_intent?: string }).payment_intent === id).map((e) => e.type);

async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
    const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return error as Stripe.errors.StripeError;
}

describe('customers', () => {
    it('creates, retrieves, lists by exact email and searches by email', async () => {
        const email = `Case-${Math.random().toString(36).slice(2)}@example.test`;
        const customer = await stripe.customers.create({ email, metadata: { user_id: 'u-1' } });
        expect(customer).toMatchObject({ object: 'customer', email, metadata: { user_id: 'u-1' }, livemode: false });
        expect(customer.id).toMatch(/^cus_/);
        expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
        expect((await stripe.customers.list({ email })).data.map((c) => c.id)).toEqual([customer.id]);
        expect((await stripe.customers.list({ email: email.toLowerCase() })).data).toEqual([]);
        const found = await stripe.customers.search({ query: `email:'${email}'` });
        expect(found.data.map((c) => c.id)).toEqual([customer.id]);
    });

    it('answers 404 resource_missing for an unknown id', async () => {
        const error = await stripeError(stripe.customers.retrieve('cus_missing'));
        expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
        expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', message: "No such customer: 'cus_missing'" });
        expect(error.requestId).toMatch(/^req_/);
    });
});

describe('errors', () => {
    it('refuses an unknown parameter, naming it', async () => {
        const error = await stripeError(stripe.paymentIntents.create({ amount: 2000, currency: 'eur', colour: 'red' } as Stripe.PaymentIntentCreateParams));
        expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'colour', code: 'parameter_unknown' });
    });

    it('refuses a missing required parameter and an amount below the minimum', async () => {
        expect(await stripeError(stripe.paymentIntents.create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams))).toMatchObject({ param: 'amount', code: 'parameter_missing' });
        expect(await stripeError(stripe.paymentIntents.create({ amount: 10, currency: 'eur' }))).toMatchObject({ code: 'amount_too_small' });
    });

    it('answers 401 for a key it does not know, and for a publishable key on a secret-only call', async () => {
        const wrong = await stripeError(sdk('sk_test_not_this_one').customers.list());
        expect(wrong).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
        expect(wrong.message).toMatch(/^Invalid API Key provided: sk_test_\*{4}/);
        expect(await stripeError(sdk(LOCAL_STRIPE_PUBLISHABLE_KEY).customers.list())).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    });

    it('answers injected failures as api_error, which the SDK retries with the same idempotency key', async () => {
        fake.faults.failNext(1);
        expect(await stripeError(stripe.customers.create({ email: 'down@example.test' }))).toBeInstanceOf(Stripe.errors.StripeAPIError);
        fake.faults.failNext(1);
        const retried = await sdk(LOCAL_STRIPE_SECRET_KEY, 2).customers.create({ email: 'retried@example.test' }, { idempotencyKey: 'retry-me' });
        expect(retried.email).toBe('retried@example.test');
        expect(fake.account.customers.has(retried.id)).toBe(true);
    });
});

describe('Idempotency-Key', () => {
    it('replays the same object for the same key and parameters, with Idempotent-Replayed', async () => {
        const params = { email: 'same@example.test', metadata: { user_id: 'u-2' } };
        const first = await stripe.customers.create(params, { idempotencyKey: 'same-key' });
        const again = await stripe.customers.create({ metadata: { user_id: 'u-2' }, email: 'same@example.test' }, { idempotencyKey: 'same-key' });
        expect(again.id).toBe(first.id);
        expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
        expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
        expect([...fake.account.customers.values()].filter((c) => c.email === 'same@example.test')).toHaveLength(1);
    });

    it('refuses other parameters under the same key with 400 idempotency_error and Stripe\'s message', async () => {
        await stripe.customers.create({ email: 'one@example.test' }, { idempotencyKey: 'other-params' });
        const error = await stripeError(stripe.customers.create({ email: 'two@example.test' }, { idempotencyKey: 'other-params' }));
        expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
        expect(error.statusCode).toBe(400);
        expect(error.message).toBe(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'other-params' if you meant to execute a different request.",
        );
    });

    it('refuses the same key on another endpoint', async () => {
        await stripe.customers.create({}, { idempotencyKey: 'endpoint-key' });
        const error = await stripeError(stripe.paymentIntents.create({ amount: 2000, currency: 'eur' }, { idempotencyKey: 'endpoint-key' }));
        expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
        expect(error.message).toContain("'POST /v1/customers' vs 'POST /v1/payment_intents'");
    });

    it('saves nothing when validation failed: the key can be used again with corrected parameters', async () => {
        await stripeError(stripe.paymentIntents.create({ amount: 10, currency: 'eur' }, { idempotencyKey: 'fix-me' }));
        const created = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' }, { idempotencyKey: 'fix-me' });
        expect(created.amount).toBe(2000);
    });

    it('replays a card decline (402) instead of charging again', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
        const first = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: 'declined-once' }));
        const again = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: 'declined-once' }));
        expect(first).toBeInstanceOf(Stripe.errors.StripeCardError);
        expect(again.headers?.['idempotent-replayed']).toBe('true');
        expect([...fake.account.charges.values()].filter((c) => c.payment_intent === intent.id)).toHaveLength(1);
    });

    it('answers 409 while the first request with the key is still running', async () => {
        const idle = createStripeFake({ now, sweepIntervalMs: 0 });
        const keyed = (body: string) =>
            idle.handler(
                new Request('http://fake/v1/customers', {
                    method: 'POST',
                    headers: { authorization: `Bearer ${LOCAL_STRIPE_SECRET_KEY}`, 'idempotency-key': 'in-flight', 'content-type': 'application/x-www-form-urlencoded' },
                    body,
                }),
                { remoteAddr: '127.0.0.1' },
            );
        // Both bodies are read before either executes: the second finds the first in flight.
        const [a, b] = await Promise.all([keyed('email=a%40x.test'), keyed('email=a%40x.test')]);
        const statuses = [a.status, b.status].sort();
        expect(statuses).toEqual([200, 409]);
        const conflict = [a, b].find((r) => r.status === 409)!;
        expect(conflict.headers.get('stripe-should-retry')).toBe('true');
        expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_in_use');
    });
});

describe('PaymentIntents with test payment methods', () => {
    it('pm_card_visa succeeds: amount received, a captured charge, created → charge.succeeded → succeeded events', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 4500, currency: 'EUR', metadata: { order_id: 'o-1' }, automatic_payment_methods: { enabled: true } });
        expect(intent).toMatchObject({ status: 'requires_payment_method', currency: 'eur', latest_charge: null });
        expect(intent.client_secret).toMatch(new RegExp(`^${intent.id}_secret_`));
        const paid = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
        expect(paid).toMatchObject({ status: 'succeeded', amount_received: 4500 });
        const charge = await stripe.charges.retrieve(paid.latest_charge as string);
        expect(charge).toMatchObject({ captured: true, amount_captured: 4500, paid: true, metadata: { order_id: 'o-1' }, payment_intent: intent.id });
        expect(eventsOf(intent.id)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
    });

    it('pm_card_chargeDeclined: 402 card_declined, the intent back to requires_payment_method, payment_failed event', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 4500, currency: 'eur' });
        const error = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }));
        expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
        expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
        const after = await stripe.paymentIntents.retrieve(intent.id);
        expect(after.status).toBe('requires_payment_method');
        expect(after.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline', type: 'card_error' });
        expect(eventsOf(intent.id)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
        // Another card then succeeds.
        expect((await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' })).status).toBe('succeeded');
    });

    it('pm_card_authenticationRequired needs 3-D Secure; a completed challenge succeeds', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 4500, currency: 'eur' });
        const pending = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_authenticationRequired' });
        expect(pending.status).toBe('requires_action');
        expect(pending.next_action?.type).toBe('use_stripe_sdk');
        const done = await stripe.rawRequest('POST', `/v1/test_helpers/payment_intents/${intent.id}/authenticate`, { outcome: 'succeed' });
        expect(done).toMatchObject({ id: intent.id, status: 'succeeded' });
        expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
        expect(eventsOf(intent.id)).toContain('payment_intent.requires_action');
    });

    it('manual capture: requires_capture, then a partial capture succeeds for that amount', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'eur', capture_method: 'manual', payment_method: 'pm_card_visa', confirm: true });
        expect(intent).toMatchObject({ status: 'requires_capture', amount_capturable: 5000 });
        const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 4000 });
        expect(captured).toMatchObject({ status: 'succeeded', amount_received: 4000, amount_capturable: 0 });
        expect(eventsOf(intent.id)).toContain('payment_intent.amount_capturable_updated');
    });

    it('cancels an unpaid intent; a succeeded one cannot be canceled (payment_intent_unexpected_state)', async () => {
        const open = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
        expect((await stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'abandoned' })).status).toBe('canceled');
        const paid = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        const error = await stripeError(stripe.paymentIntents.cancel(paid.id));
        expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    });

    it('a publishable key may confirm with the client secret, and nothing else', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
        const browser = sdk(LOCAL_STRIPE_PUBLISHABLE_KEY);
        const wrong = await stripeError(browser.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa', client_secret: 'pi_x_secret_y' } as Stripe.PaymentIntentConfirmParams));
        expect(wrong.statusCode).toBe(404);
        const paid = await browser.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa', client_secret: intent.client_secret } as Stripe.PaymentIntentConfirmParams);
        expect(paid.status).toBe('succeeded');
    });

    it('pm_card_createDispute succeeds, then a dispute is opened on its charge', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'eur', payment_method: 'pm_card_createDispute', confirm: true });
        const dispute = fake.account.events.find((e) => e.type === 'charge.dispute.created' && (e.data.object as { payment_intent: string }).payment_intent === intent.id);
        expect(dispute?.data.object).toMatchObject({ object: 'dispute', amount: 3000, reason: 'fraudulent', status: 'needs_response' });
    });
});

describe('refunds', () => {
    it('refunds part, then the rest; more than is left is refused, and a full refund cannot be repeated', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 6000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        const part = await stripe.refunds.create({ payment_intent: intent.id, amount: 2500, metadata: { refund_id: 'r-1' } });
        expect(part).toMatchObject({ object: 'refund', amount: 2500, status: 'succeeded', payment_intent: intent.id, metadata: { refund_id: 'r-1' } });
        expect(await stripeError(stripe.refunds.create({ payment_intent: intent.id, amount: 4000 }))).toMatchObject({ code: 'amount_too_large' });
        const rest = await stripe.refunds.create({ payment_intent: intent.id });
        expect(rest.amount).toBe(3500);
        expect(await stripe.charges.retrieve(part.charge as string)).toMatchObject({ amount_refunded: 6000, refunded: true });
        expect(await stripeError(stripe.refunds.create({ payment_intent: intent.id }))).toMatchObject({ code: 'charge_already_refunded' });
        const refunded = fake.account.events.filter((e) => e.type === 'charge.refunded' && (e.data.object as { payment_intent: string }).payment_intent === intent.id);
        expect(refunded.map((e) => (e.data.object as { amount_refunded: number }).amount_refunded)).toEqual([2500, 6000]);
        expect(refunded[1]!.data.previous_attributes).toEqual({ amount_refunded: 2500, refunded: false });
    });

    it('refuses to refund an intent without a successful charge', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
        expect((await stripeError(stripe.refunds.create({ payment_intent: intent.id }))).statusCode).toBe(400);
    });
});

describe('Checkout Sessions', () => {
    const lineItems = [{ price_data: { currency: 'eur', unit_amount: 1500, product_data: { name: 'Merino Tee' } }, quantity: 2 }];
    const inSeconds = (s: number) => Math.floor(clock / 1000) + s;

    it('creates an open, unpaid session with a hosted url; expires_at must be 30 min to 24 h away', async () => {
        const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url: 'http://shop.test/ok', expires_at: inSeconds(3600), metadata: { order_id: 'o-9' } });
        expect(session).toMatchObject({ object: 'checkout.session', status: 'open', payment_status: 'unpaid', amount_total: 3000, currency: 'eur', payment_intent: null, expires_at: inSeconds(3600) });
        expect(session.id).toMatch(/^cs_test_/);
        expect(session.url).toBe(`${fake.url}/c/pay/${session.id}`);
        const early = await stripeError(stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url: 'http://shop.test/ok', expires_at: inSeconds(29 * 60) }));
        expect(early).toMatchObject({ statusCode: 400, param: 'expires_at' });
        const late = await stripeError(stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url: 'http://shop.test/ok', expires_at: inSeconds(24 * 3600 + 1) }));
        expect(late).toMatchObject({ statusCode: 400, param: 'expires_at' });
    });

    it('paying on the payment page completes the session with a new intent carrying payment_intent_data metadata', async () => {
        const session = await stripe.checkout.sessions.create({
            mode: 'payment',
            line_items: lineItems,
            success_url: 'http://shop.test/ok',
            payment_intent_data: { metadata: { order_id: 'o-10' } },
            client_reference_id: 'o-10',
        });
        await stripe.rawRequest('POST', `/v1/payment_pages/${session.id}/confirm`, { payment_method: 'pm_card_visa' });
        const done = await stripe.checkout.sessions.retrieve(session.id);
        expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
        const intent = await stripe.paymentIntents.retrieve(done.payment_intent as string);
        expect(intent).toMatchObject({ status: 'succeeded', amount_received: 3000, metadata: { order_id: 'o-10' } });
        const types = fake.account.events.filter((e) => [session.id, intent.id].includes((e.data.object as { id: string }).id)).map((e) => e.type);
        expect(types).toEqual(['payment_intent.created', 'payment_intent.succeeded', 'checkout.session.completed']);
    });

    it('expires an open session once; a second expiry is refused', async () => {
        const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url: 'http://shop.test/ok' });
        expect((await stripe.checkout.sessions.expire(session.id)).status).toBe('expired');
        expect((await stripeError(stripe.checkout.sessions.expire(session.id))).statusCode).toBe(400);
    });

    it('expires a session by itself once the clock passes expires_at', async () => {
        const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url: 'http://shop.test/ok', expires_at: inSeconds(1800) });
        fake.tick();
        expect(fake.account.sessions.get(session.id)!.status).toBe('open');
        clock += 1800 * 1000;
        fake.tick();
        expect(fake.account.sessions.get(session.id)!.status).toBe('expired');
        const event = fake.account.events.at(-1)!;
        expect(event).toMatchObject({ type: 'checkout.session.expired', request: { id: null, idempotency_key: null } });
    });
});

describe('Events API', () => {
    it('lists newest first, filtered by type wildcard or types[], created range and cursors', async () => {
        const start = Math.floor(clock / 1000);
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        const mine = (list: Stripe.ApiList<Stripe.Event>) => list.data.filter((e) => (e.data.object as { id: string }).id === intent.id || (e.data.object as { payment_intent?: string }).payment_intent === intent.id);
        const all = await stripe.events.list({ created: { gte: start }, limit: 100 });
        expect(mine(all).map((e) => e.type)).toEqual(['payment_intent.succeeded', 'charge.succeeded', 'payment_intent.created']);
        expect(mine(await stripe.events.list({ type: 'payment_intent.*', created: { gte: start }, limit: 100 })).map((e) => e.type)).toEqual([
            'payment_intent.succeeded',
            'payment_intent.created',
        ]);
        expect(mine(await stripe.events.list({ types: ['charge.succeeded'], limit: 100 })).map((e) => e.type)).toEqual(['charge.succeeded']);
        const first = await stripe.events.list({ limit: 1 });
        expect(first.has_more).toBe(true);
        const next = await stripe.events.list({ limit: 1, starting_after: first.data[0]!.id });
        expect(next.data[0]!.id).not.toBe(first.data[0]!.id);
        expect(next.data[0]!.created).toBeLessThanOrEqual(first.data[0]!.created);
    });

    it('keeps events for 30 days', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
        const event = fake.account.events.find((e) => (e.data.object as { id: string }).id === intent.id)!;
        expect((await stripe.events.retrieve(event.id)).id).toBe(event.id);
        clock += 31 * 24 * 3600 * 1000;
        expect((await stripeError(stripe.events.retrieve(event.id))).statusCode).toBe(404);
    });
});

describe('webhooks', () => {
    it('delivers every event signed so that the official SDK verifies it', async () => {
        // Deliveries of earlier tests (signed before their clock jumped 31 days) end first.
        await fake.webhooks.settled();
        hook.received.length = 0;
        hook.rejected.length = 0;
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        await fake.webhooks.settled();
        expect(hook.rejected).toEqual([]);
        const delivered = hook.received.filter((e) => (e.data.object as { id: string }).id === intent.id).map((e) => e.type);
        expect(delivered).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
        const event = hook.received.find((e) => e.type === 'payment_intent.succeeded')!;
        expect(event).toMatchObject({ object: 'event', api_version: Stripe.API_VERSION, livemode: false, pending_webhooks: 1, request: { id: expect.stringMatching(/^req_/) } });
    });

    it('retries a failed delivery with backoff until the endpoint accepts it', async () => {
        const delays: number[] = [];
        const due: Array<() => void> = [];
        const retrying = createStripeFake({
            now,
            sweepIntervalMs: 0,
            endpoints: [{ url: hook.url, secret: SECRET }],
            retryDelaysMs: [1_000, 5_000, 30_000],
            schedule: (run, ms) => {
                delays.push(ms);
                due.push(run);
                return () => {};
            },
        });
        let calls = 0;
        hook.answer = () => (++calls <= 2 ? 503 : 200);
        try {
            const response = await retrying.handler(
                new Request('http://fake/v1/customers', { method: 'POST', headers: { authorization: `Bearer ${LOCAL_STRIPE_SECRET_KEY}` }, body: 'email=r%40x.test' }),
                { remoteAddr: '127.0.0.1' },
            );
            expect(response.status).toBe(200);
            while (retrying.webhooks.attempts.length < 3) {
                await new Promise((resolve) => setTimeout(resolve, 5));
                due.shift()?.();
            }
            await retrying.webhooks.settled();
            expect(retrying.webhooks.attempts.map((a) => [a.attempt, a.status])).toEqual([
                [1, 503],
                [2, 503],
                [3, 200],
            ]);
            expect(delays).toEqual([1_000, 5_000]);
        } finally {
            hook.answer = () => 200;
            retrying.webhooks.close();
        }
    });

    it('holds the events of a request marked Stripe-Fake-Hold-Webhooks, and delivers one on demand', async () => {
        hook.received.length = 0;
        const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' }, { headers: { 'Stripe-Fake-Hold-Webhooks': 'true' } });
        await fake.webhooks.settled();
        expect(hook.received.filter((e) => (e.data.object as { id: string }).id === intent.id)).toEqual([]);
        const event = fake.account.events.find((e) => (e.data.object as { id: string }).id === intent.id)!;
        const delivery = await stripe.rawRequest('POST', `/_fake/events/${event.id}/deliver`, {});
        expect((delivery as unknown as { data: Array<{ status: number }> }).data.map((a) => a.status)).toEqual([200]);
        expect(hook.received.map((e) => e.id)).toEqual([event.id]);
    });
});
