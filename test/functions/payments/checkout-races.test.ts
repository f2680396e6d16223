// checkout under concurrency, through the gateway and real Deno: ten simultaneous calls
// with one idempotency key are one order, one PaymentIntent (or Checkout Session) and
// one Stripe customer; concurrent checkouts of one new user share one Stripe customer;
// two buyers racing for the last unit get one order.
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, type Shop } from '../../harness/commerce-shop.js';
import { useStack, type SignedIn } from '../../harness/stack.js';

const stack = useStack();
let shop: Shop;

beforeAll(async () => {
    shop = await createShop(stack.db, 50);
});

const key = () => `race-${Math.random().toString(36).slice(2)}`;

async function concurrently(who: SignedIn, bodies: Array<Record<string, unknown>>) {
    const token = await who.token();
    return Promise.all(bodies.map((body) => stack.call<Record<string, string>>('checkout', body, token)));
}

const stripeCustomersOf = (userId: string) => [...stack.stripe.account.customers.values()].filter((c) => c.metadata.user_id === userId);

describe('the same idempotency key from 10 concurrent calls', () => {
    it.each([
        ['payment_intent', 'payment_intent_id', {}],
        ['checkout_session', 'checkout_session_id', { success_url: 'http://shop.test/thanks' }],
    ] as const)('%s: one order, one %s, one Stripe customer', async (mode, idField, extra) => {
        const buyer = await stack.customer('racer');
        const body = { mode, idempotency_key: key(), items: [{ variant_id: shop.variants[0]!.id, quantity: 2 }], ...extra };
        const answers = await concurrently(buyer, Array.from({ length: 10 }, () => body));

        expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
        expect(new Set(answers.map((a) => a.body.order_id)).size).toBe(1);
        expect(new Set(answers.map((a) => a.body[idField])).size).toBe(1);
        const orderId = answers[0]!.body.order_id!;
        expect(await stack.db.query('select count(*)::int as n from public.orders where user_id = $1', [buyer.userId])).toEqual([{ n: 1 }]);
        expect(await stack.db.query('select count(*)::int as n from public.payments where order_id = $1', [orderId])).toEqual([{ n: 1 }]);
        const atStripe =
            mode === 'payment_intent'
                ? [...stack.stripe.account.paymentIntents.values()].filter((p) => p.metadata.order_id === orderId)
                : [...stack.stripe.account.sessions.values()].filter((s) => s.metadata.order_id === orderId);
        expect(atStripe).toHaveLength(1);
        expect(stripeCustomersOf(buyer.userId)).toHaveLength(1);
        expect(await stack.db.query('select stripe_customer_id from private.stripe_customers where user_id = $1', [buyer.userId])).toEqual([
            { stripe_customer_id: stripeCustomersOf(buyer.userId)[0]!.id },
        ]);
        // Stock reserved once.
        expect(await stack.db.query('select sum(quantity)::int as n from public.inventory_reservations where order_id = $1', [orderId])).toEqual([{ n: 2 }]);
    });
});

describe('the same idempotency key from 10 concurrent calls while Stripe is slow', () => {
    it("all get the one PaymentIntent: the calls Stripe answers 409 idempotency_key_in_use wait for the first instead of failing", async () => {
        const buyer = await stack.customer('patient');
        const body = { mode: 'payment_intent', idempotency_key: key(), items: [{ variant_id: shop.variants[0]!.id, quantity: 1 }] };
        // The first request to Stripe (a customer create) stays in flight longer than the SDK's own retries last.
        stack.stripe.faults.slowNext(1, 3_000);
        const answers = await concurrently(buyer, Array.from({ length: 10 }, () => body));

        expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
        expect(new Set(answers.map((a) => a.body.payment_intent_id)).size).toBe(1);
        const orderId = answers[0]!.body.order_id!;
        expect([...stack.stripe.account.paymentIntents.values()].filter((p) => p.metadata.order_id === orderId)).toHaveLength(1);
        expect(stripeCustomersOf(buyer.userId)).toHaveLength(1);
    }, 60_000);
});

describe('one new user checking out several orders at once', () => {
    it('gets one Stripe customer for all of them', async () => {
        const buyer = await stack.customer('many');
        const answers = await concurrently(
            buyer,
            [0, 1].map((variant) => ({ mode: 'payment_intent', idempotency_key: key(), items: [{ variant_id: shop.variants[variant]!.id, quantity: 1 }] })),
        );
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(new Set(answers.map((a) => a.body.order_id)).size).toBe(2);
        expect(stripeCustomersOf(buyer.userId)).toHaveLength(1);
        const customer = stripeCustomersOf(buyer.userId)[0]!.id;
        for (const answer of answers) expect(stack.stripe.account.paymentIntents.get(answer.body.payment_intent_id!)!.customer).toBe(customer);
    });
});

describe('the last unit', () => {
    it('two buyers race for it: one order and one PaymentIntent, the other 409 insufficient_stock', async () => {
        const [row] = await stack.db.query<{ id: string }>(
            `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, 'Last one', 9900, 'EUR') returning id`,
            [shop.productId, `LAST-${key()}`],
        );
        const variant = row!.id;
        await stack.db.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, 1)', [variant]);
        const [a, b] = await Promise.all([stack.customer('first'), stack.customer('second')]);
        const intentsBefore = stack.stripe.account.paymentIntents.size;
        const answers = await Promise.all(
            [a!, b!].map(async (who) => stack.call('checkout', { mode: 'payment_intent', idempotency_key: key(), items: [{ variant_id: variant, quantity: 1 }] }, await who.token())),
        );
        expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
        expect(answers.find((r) => r.status === 409)!.body).toMatchObject({ code: 'insufficient_stock' });
        expect(stack.stripe.account.paymentIntents.size).toBe(intentsBefore + 1);
        expect(await stack.db.query('select reserved from public.inventory_levels where variant_id = $1', [variant])).toEqual([{ reserved: 1 }]);
    });
});
