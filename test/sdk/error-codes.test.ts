// Every error code the SDK promises, each produced once by a real request through the
// stack (SQL API, PostgREST, Auth, the functions on Deno, Realtime, the Stripe fake), and
// returned both ways: `{data: null, error}` and, with `.orThrow()`, a thrown TillbaseError.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTillbaseClient, ERROR_CODES, TillbaseError, type ErrorCode, type TillbaseClient, type TillbaseResult } from '../../sdk/src/node.ts';
import { runScenario } from '../../stack/fakes/stripe/scenarios.js';
import { createCatalogue, sdkClient, signedIn, totpCode, type Catalogue } from '../harness/sdk.js';
import { useStack } from '../harness/stack.js';

const stack = useStack({ realtime: true, storage: true });
let shop: Catalogue;
const produced = new Set<ErrorCode>();

beforeAll(async () => {
    shop = await createCatalogue(stack);
});

/** Asserts the answer is `code` (with its HTTP status) and that nothing came as data. */
function expectCode<T>(result: TillbaseResult<T>, code: ErrorCode, status?: number): TillbaseError {
    expect(result.data).toBeNull();
    expect(result.error).toBeInstanceOf(TillbaseError);
    expect({ code: result.error!.code, status: result.error!.status }).toEqual({ code, status: status ?? expect.any(Number) });
    produced.add(code);
    return result.error!;
}

async function customer(tag: string): Promise<TillbaseClient> {
    return signedIn(stack, await stack.user(tag));
}

async function paidOrder(tb: TillbaseClient): Promise<string> {
    const checkout = await tb.checkout.start({ mode: 'payment_intent', items: [{ variantId: shop.variants.teeS.id, quantity: 1 }] }).orThrow();
    await runScenario(stack.stripeSdk(), 'pay', { paymentIntent: checkout.payment_intent_id });
    return checkout.order_id;
}

describe('error codes from real requests', () => {
    it('insufficient_stock: checkout of more units than are left (409, nothing reserved)', async () => {
        const tb = await customer('stock');
        const result = await tb.checkout.start({ mode: 'payment_intent', items: [{ variantId: shop.variants.poster.id, quantity: 2 }] });
        expect(expectCode(result, 'insufficient_stock', 409).message).toContain(shop.variants.poster.sku);
        expect(await tb.orders.list().orThrow()).toEqual([]);
        expect((await tb.catalog.get(shop.poster).orThrow()).in_stock).toBe(true);
    });

    it('limit_reached: more than 10 units of a variant in one order (429)', async () => {
        const tb = await customer('limit');
        const cart = await tb.cart.add(shop.variants.teeM.id, 11).orThrow();
        expectCode(await tb.checkout.start({ mode: 'payment_intent', cartId: cart.id }), 'limit_reached', 429);
        expect(await tb.orders.list().orThrow()).toEqual([]);
    });

    it('empty_cart: checkout of a cart without lines (422)', async () => {
        const tb = await customer('empty');
        const cart = await tb.cart.add(shop.variants.teeM.id, 1).orThrow();
        await tb.cart.clear().orThrow();
        expectCode(await tb.checkout.start({ mode: 'payment_intent', cartId: cart.id }), 'empty_cart', 422);
    });

    it('not_found: cancelling an order that does not exist (TB003 from the SQL API)', async () => {
        const tb = await customer('nothing');
        expectCode(await tb.orders.cancel('00000000-0000-4000-8000-000000000000'), 'not_found', 400);
    });

    it('forbidden: a customer adjusting stock (42501), and the level is unchanged', async () => {
        const tb = await customer('thief');
        expectCode(await tb.staff.inventory.adjust({ variantId: shop.variants.mug.id, quantity: 50, reason: 'mine now' }), 'forbidden', 403);
        expect(await stack.db.query('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants.mug.id])).toEqual([{ on_hand: 0 }]);
    });

    it('mfa_required: a refund by finance staff without MFA (the refund function), and a replay of an ERP message by an admin at aal1 (the SQL API’s aal2 refusal)', async () => {
        const buyer = await customer('refunded');
        const orderId = await paidOrder(buyer);
        const finance = await signedIn(stack, await stack.staffUser('finance'));
        expectCode(await finance.staff.refund(orderId, 100), 'mfa_required', 403);
        expect(await stack.db.query('select id from public.refunds where order_id = $1', [orderId])).toEqual([]);

        const [dead] = await stack.db.query<{ id: string }>(
            `update private.outbox set status = 'dead', attempts = 8 where topic = 'erp.order.upsert' and aggregate_id = $1 returning id`,
            [orderId],
        );
        const admin = await signedIn(stack, await stack.staffUser('admin'));
        expect((await admin.staff.outbox.replay(Number(dead!.id))).error).toMatchObject({ code: 'mfa_required', status: 403 });
        expect(await stack.db.query('select status from private.outbox where id = $1', [dead!.id])).toEqual([{ status: 'dead' }]);
        // Raised to aal2, the same replay goes through.
        const enrolment = await admin.account.mfa.enrollTotp().orThrow();
        await admin.account.mfa.verifyTotp(enrolment.factorId, totpCode(enrolment.secret)).orThrow();
        expect(await admin.staff.outbox.replay(Number(dead!.id)).orThrow()).toMatchObject({ status: 'pending' });
    });

    it('conflict: cancelling an order that is paid (TB001), which stays paid', async () => {
        const tb = await customer('paid');
        const orderId = await paidOrder(tb);
        expectCode(await tb.orders.cancel(orderId), 'conflict', 400);
        expect((await tb.orders.get(orderId).orThrow()).status).toBe('paid');
    });

    it('invalid_argument: refunding more than was paid (the refund function, 400), and a bad TOTP code (Auth, 422)', async () => {
        const buyer = await customer('over');
        const orderId = await paidOrder(buyer);
        const finance = await signedIn(stack, await stack.staffUser('finance'));
        const enrolment = await finance.account.mfa.enrollTotp().orThrow();
        const code = totpCode(enrolment.secret);
        expectCode(await finance.account.mfa.verifyTotp(enrolment.factorId, code === '123456' ? '654321' : '123456'), 'invalid_argument', 422);
        await finance.account.mfa.verifyTotp(enrolment.factorId, code).orThrow();
        const error = expectCode(await finance.staff.refund(orderId, shop.variants.teeS.price + 1), 'invalid_argument', 400);
        expect(error.message).toContain('still refundable');
        expect(await stack.db.query('select id from public.refunds where order_id = $1', [orderId])).toEqual([]);
    });

    it('unauthenticated: a visitor checking out (the checkout function, 401)', async () => {
        const visitor = sdkClient(stack);
        expectCode(await visitor.checkout.start({ mode: 'payment_intent', items: [{ variantId: shop.variants.teeS.id, quantity: 1 }] }), 'unauthenticated', 401);
    });

    it('payment_failed: a declined card while the customer waits for the payment (Realtime); a retry that pays', async () => {
        const tb = await customer('declined');
        const checkout = await tb.checkout.start({ mode: 'payment_intent', items: [{ variantId: shop.variants.teeS.id, quantity: 1 }] }).orThrow();
        const outcome = tb.orders.waitForPayment(checkout.order_id, { timeoutMs: 30_000 });
        await runScenario(stack.stripeSdk(), 'fail', { paymentIntent: checkout.payment_intent_id });
        const error = expectCode(await outcome, 'payment_failed', 402);
        expect(error.details).toMatchObject({ order_id: checkout.order_id, failure_message: 'Your card was declined.' });
        expect(await tb.orders.get(checkout.order_id).orThrow()).toMatchObject({ status: 'pending_payment', payment_status: 'failed' });
        // The customer tries another card: the earlier decline is not this attempt's outcome.
        const retry = tb.orders.waitForPayment(checkout.order_id, { timeoutMs: 30_000, retrying: true });
        await runScenario(stack.stripeSdk(), 'pay', { paymentIntent: checkout.payment_intent_id });
        expect(await retry.orThrow()).toMatchObject({ status: 'paid', payment_status: 'captured' });
    });

    it('unavailable: checkout while Stripe fails (503), the order kept for the same request to finish later', async () => {
        const tb = await customer('outage');
        const input = { mode: 'payment_intent' as const, items: [{ variantId: shop.variants.teeS.id, quantity: 1 }], idempotencyKey: `outage-${shop.tag}` };
        // The functions' Stripe client tries each call three times.
        stack.stripe.faults.failNext(3);
        const error = expectCode(await tb.checkout.start(input), 'unavailable', 503);
        const orderId = (error.details as { order_id: string }).order_id;
        const retried = await tb.checkout.start(input).orThrow();
        expect(retried.order_id).toBe(orderId);
    });

    it('throws the same TillbaseError with .orThrow()', async () => {
        const visitor = sdkClient(stack);
        const thrown = await visitor.orders.cancel('00000000-0000-4000-8000-000000000000').orThrow().catch((e: unknown) => e);
        expect(thrown).toBeInstanceOf(TillbaseError);
        expect(thrown).toMatchObject({ code: 'unauthenticated', status: 401 });
    });

    it('checks inputs with the contract before any request: invalid_argument naming the field', async () => {
        const requests: string[] = [];
        const tb = createTillbaseClient(stack.url, stack.keys.anon, {
            supabase: { auth: { persistSession: false, autoRefreshToken: false }, global: { fetch: (input, init) => (requests.push(String(input)), fetch(input, init)) } },
        });
        const credentials = await stack.user('typo');
        await tb.supabase.auth.signInWithPassword({ email: credentials.email, password: credentials.password });
        requests.length = 0;
        const result = await tb.checkout.start({ mode: 'checkout_session', items: [{ variantId: 'not-a-uuid', quantity: 1 }], successUrl: 'ftp://x' });
        const error = expectCode(result, 'invalid_argument', 400);
        expect((error.details as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(['items.0.variant_id', 'success_url']);
        expect((await tb.cart.add(shop.variants.teeS.id, 0)).error).toMatchObject({ code: 'invalid_argument', details: { issues: [{ path: 'quantity' }] } });
        expect(requests).toEqual([]);
    });

    it('covered every code the issue lists', () => {
        const listed: ErrorCode[] = ['insufficient_stock', 'limit_reached', 'not_found', 'forbidden', 'mfa_required', 'conflict', 'invalid_argument', 'unauthenticated', 'payment_failed', 'unavailable'];
        expect(listed.every((code) => ERROR_CODES.includes(code))).toBe(true);
        expect([...produced].sort()).toEqual(expect.arrayContaining(listed.sort()));
    });
});
