// The shop's journeys through the running stack with @tillbase/sdk only: REST, Auth, the
// functions on real Deno, Realtime, Storage and the local Stripe behind one gateway. A
// customer browses, fills a cart, checks out in both modes, pays at the Stripe fake (its
// scenario runner, as `npm run stripe -- trigger` plays them), watches the order turn
// paid and gets the confirmation mail; a staff member enrols TOTP, reaches aal2,
// fulfils and refunds; a second customer sees none of it.
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OrderDetail, TillbaseClient } from '../../sdk/src/node.ts';
import { runScenario } from '../../stack/fakes/stripe/scenarios.js';
import { createCatalogue, sdkClient, signedIn, totpCode, type Catalogue } from '../harness/sdk.js';
import { useStack, type Credentials } from '../harness/stack.js';

const stack = useStack({ realtime: true, storage: true, smtp: true });
let shop: Catalogue;
let ada: Credentials;
let adaClient: TillbaseClient;
/** Ada's orders, as the journeys make them. */
const adaOrders: { intent?: string; session?: string } = {};

beforeAll(async () => {
    shop = await createCatalogue(stack);
    ada = await stack.user('ada');
    adaClient = await signedIn(stack, ada);
});

/** Runs the notifications worker once, as its schedule does (service role). */
async function runNotifications() {
    const { status, body } = await stack.call('notifications', {}, stack.keys.serviceRole);
    expect(status, JSON.stringify(body)).toBe(200);
}

describe('a visitor browses the catalogue', () => {
    it('lists active products with active variants, prices, in_stock flags (never counts), image URLs and the total', async () => {
        const visitor = sdkClient(stack);
        const { data, error } = await visitor.catalog.list({ limit: 100 });
        expect(error).toBeNull();
        const mine = data!.products;
        // By name: Merino Tee, Poster, Stoneware Mug (the retired apron is not for sale).
        expect(mine.map((p) => p.slug)).toEqual([shop.tee, shop.poster, shop.mug]);
        const tee = mine.find((p) => p.slug === shop.tee)!;
        expect(tee).toMatchObject({
            name: 'Merino Tee',
            category: { slug: shop.tees, name: 'T-shirts' },
            in_stock: true,
            price_range: { min: 4500, max: 4700, currency: 'EUR' },
        });
        // The inactive XL is not for sale; no count leaks into the answer.
        expect(tee.variants.map((v) => [v.sku, v.price_amount, v.in_stock])).toEqual([
            [shop.variants.teeS.sku, 4500, true],
            [shop.variants.teeM.sku, 4700, true],
        ]);
        expect(JSON.stringify(data)).not.toMatch(/on_hand|reserved/);
        const mug = mine.find((p) => p.slug === shop.mug)!;
        expect(mug).toMatchObject({ in_stock: false, image: null, variants: [{ in_stock: false }] });
        expect(data!.total).toBe(3);
    });

    it('serves the image and a thumbnail rendered by Storage at the URLs the catalogue gives', async () => {
        const { data: tee } = await sdkClient(stack).catalog.get(shop.tee);
        expect(tee!.image).toMatchObject({ path: shop.teeImage, url: `${stack.url}/storage/v1/object/public/product-images/${shop.teeImage}` });
        expect(tee!.variants[0]!.image!.path).toBe(shop.teeImage);
        const original = await fetch(tee!.image!.url);
        expect(original.status).toBe(200);
        expect(await sharp(Buffer.from(await original.arrayBuffer())).metadata()).toMatchObject({ width: 800, height: 600 });
        expect(tee!.image!.thumbnailUrl).toContain('/storage/v1/render/image/public/product-images/');
        const thumbnail = await fetch(tee!.image!.thumbnailUrl);
        expect(thumbnail.status).toBe(200);
        expect(await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).toMatchObject({ width: 400, height: 400 });
    });

    it('filters by category and searches names and descriptions, with the count of the filtered set and paging', async () => {
        const visitor = sdkClient(stack);
        const tees = await visitor.catalog.list({ category: shop.tees }).orThrow();
        expect(tees.products.map((p) => p.slug)).toEqual([shop.tee]);
        expect(tees.total).toBe(1);
        const merino = await visitor.catalog.list({ search: 'MERINO' }).orThrow();
        expect(merino.products.map((p) => p.slug)).toEqual([shop.tee, shop.poster]);
        // LIKE's wildcards in a search are plain characters.
        const percent = await visitor.catalog.list({ search: '100%' }).orThrow();
        expect(percent.products.map((p) => p.slug)).toEqual([shop.mug]);
        expect((await visitor.catalog.list({ search: '%' }).orThrow()).products.map((p) => p.slug)).toEqual([shop.mug]);
        const page = await visitor.catalog.list({ limit: 1, offset: 1 }).orThrow();
        expect(page).toMatchObject({ products: [{ slug: shop.poster }], total: 3 });
        expect(await visitor.catalog.list({ offset: 10 }).orThrow()).toEqual({ products: [], total: 3 });
        expect(await visitor.catalog.list({ category: `nothing-${shop.tag}` }).orThrow()).toEqual({ products: [], total: 0 });
    });

    it('does not show a retired product', async () => {
        const { data, error } = await sdkClient(stack).catalog.get(shop.retired);
        expect(data).toBeNull();
        expect(error).toMatchObject({ code: 'not_found' });
    });
});

describe('a customer fills a cart and checks out', () => {
    it('adds to a line, updates, removes and clears, within what customers may write', async () => {
        expect(await adaClient.cart.get().orThrow()).toBeNull();
        await adaClient.cart.add(shop.variants.teeS.id, 1).orThrow();
        const twice = await adaClient.cart.add(shop.variants.teeS.id, 2).orThrow();
        expect(twice.items.map((l) => [l.variant_id, l.quantity])).toEqual([[shop.variants.teeS.id, 3]]);
        await adaClient.cart.add(shop.variants.mug.id, 1).orThrow();
        const updated = await adaClient.cart.update(shop.variants.mug.id, 4).orThrow();
        expect(updated.items.map((l) => l.quantity)).toEqual([3, 4]);
        expect(updated.subtotal).toBe(3 * 4500 + 4 * 1800);
        expect(updated.items[0]!.variant).toMatchObject({ sku: shop.variants.teeS.sku, product: { slug: shop.tee } });
        const removed = await adaClient.cart.remove(shop.variants.mug.id).orThrow();
        expect(removed!.items).toHaveLength(1);
        const cleared = await adaClient.cart.clear().orThrow();
        expect(cleared).toMatchObject({ id: twice.id, items: [], subtotal: 0 });
    });

    it('loses no units when the same variant is added concurrently', async () => {
        const tb = await signedIn(stack, await stack.user('racer'));
        // Six at once into no cart (one cart is made), then six more onto the existing line.
        await Promise.all(Array.from({ length: 6 }, () => tb.cart.add(shop.variants.teeM.id, 1).orThrow()));
        expect((await tb.cart.get().orThrow())!.items.map((l) => l.quantity)).toEqual([6]);
        await Promise.all(Array.from({ length: 6 }, () => tb.cart.add(shop.variants.teeM.id, 2).orThrow()));
        const cart = await tb.cart.get().orThrow();
        expect(cart!.items.map((l) => l.quantity)).toEqual([18]);
        const [carts] = await stack.db.query<{ n: string }>("select count(*) as n from public.carts where user_id = (select user_id from public.carts where id = $1) and status = 'open'", [cart!.id]);
        expect(carts!.n).toBe('1');
        const [row] = await stack.db.query<{ lines: string }>('select count(*) as lines from public.cart_items where cart_id = $1', [cart!.id]);
        expect(row!.lines).toBe('1');
    });

    it('pays a cart with a PaymentIntent: the watched order turns paid by itself, the confirmation mail arrives', async () => {
        await adaClient.cart.add(shop.variants.teeS.id, 2).orThrow();
        const cart = await adaClient.cart.add(shop.variants.teeM.id, 1).orThrow();
        const checkout = await adaClient.checkout.start({ mode: 'payment_intent', cartId: cart.id }).orThrow();
        expect(checkout).toMatchObject({ mode: 'payment_intent', amount: 2 * 4500 + 4700, currency: 'EUR', order_number: expect.stringMatching(/^TB-\d{6}$/) });
        expect(checkout.client_secret).toMatch(new RegExp(`^${checkout.payment_intent_id}_secret_`));
        adaOrders.intent = checkout.order_id;
        // The cart became the order.
        expect(await adaClient.cart.get().orThrow()).toBeNull();

        const seen: OrderDetail[] = [];
        const watch = adaClient.orders.watch(checkout.order_id, (order) => seen.push(order));
        try {
            const first = await watch.ready;
            expect(first.data).toMatchObject({ status: 'pending_payment', payment_status: 'unpaid' });
            const paid = adaClient.orders.waitForPayment(checkout.order_id, { timeoutMs: 30_000 });
            await runScenario(stack.stripeSdk(), 'pay', { paymentIntent: checkout.payment_intent_id });
            expect((await paid.orThrow()).status).toBe('paid');
            await expect.poll(() => seen.at(-1)?.status, { timeout: 15_000 }).toBe('paid');
        } finally {
            await watch.stop();
        }
        expect(seen[0]!.status).toBe('pending_payment');
        const order = await adaClient.orders.get(checkout.order_id).orThrow();
        expect(order).toMatchObject({
            number: checkout.order_number,
            status: 'paid',
            payment_status: 'captured',
            total_amount: 13_700,
            payment: { status: 'succeeded', amount_captured: 13_700, stripe_payment_intent_id: checkout.payment_intent_id },
            refunds: [],
        });
        expect(order.items.map((l) => [l.sku, l.quantity, l.unit_price_amount])).toEqual([
            [shop.variants.teeM.sku, 1, 4700],
            [shop.variants.teeS.sku, 2, 4500],
        ]);

        await runNotifications();
        const mail = stack.mail.messages().filter((m) => m.to.some((to) => to.includes(ada.email)));
        expect(mail.map((m) => m.subject)).toEqual([expect.stringContaining(`order ${checkout.order_number} confirmed`)]);
        expect(mail[0]!.text).toContain(shop.variants.teeS.sku);
    });

    it('pays items on Stripe’s hosted page (a Checkout Session) and lists both orders, newest first', async () => {
        const checkout = await adaClient.checkout
            .start({
                mode: 'checkout_session',
                items: [{ variantId: shop.variants.poster.id, quantity: 1 }],
                successUrl: 'https://shop.example/thanks?session={CHECKOUT_SESSION_ID}',
                cancelUrl: 'https://shop.example/cart',
            })
            .orThrow();
        expect(checkout).toMatchObject({ mode: 'checkout_session', amount: 2500, currency: 'EUR' });
        expect(checkout.url).toContain(checkout.checkout_session_id);
        expect(Date.parse(checkout.expires_at)).toBeGreaterThan(Date.now() + 29 * 60_000);
        adaOrders.session = checkout.order_id;
        // The poster's only unit is held: the catalogue says it is out of stock.
        expect((await adaClient.catalog.get(shop.poster).orThrow()).in_stock).toBe(false);

        const paid = adaClient.orders.waitForPayment(checkout.order_id, { timeoutMs: 30_000 });
        await runScenario(stack.stripeSdk(), 'pay', { session: checkout.checkout_session_id });
        expect(await paid.orThrow()).toMatchObject({ status: 'paid', payment: { stripe_checkout_session_id: checkout.checkout_session_id } });

        const orders = await adaClient.orders.list().orThrow();
        expect(orders.map((o) => [o.id, o.status])).toEqual([
            [adaOrders.session, 'paid'],
            [adaOrders.intent, 'paid'],
        ]);
    });

    it('reuses the order when the same idempotency key is sent again', async () => {
        const tb = await signedIn(stack, await stack.user('again'));
        const input = { mode: 'payment_intent' as const, items: [{ variantId: shop.variants.teeS.id, quantity: 1 }], idempotencyKey: `again-${shop.tag}` };
        const first = await tb.checkout.start(input).orThrow();
        const second = await tb.checkout.start(input).orThrow();
        expect(second).toEqual(first);
        await tb.orders.cancel(first.order_id).orThrow();
    });

    it('keeps the profile the customer edits', async () => {
        const before = await adaClient.account.profile().orThrow();
        expect(before).toMatchObject({ email: ada.email, full_name: null });
        const after = await adaClient.account.update({ full_name: 'Ada Lovelace', shipping_address: { line1: '12 St James’s Sq', city: 'London', country: 'GB' } }).orThrow();
        expect(after).toMatchObject({ full_name: 'Ada Lovelace', shipping_address: { country: 'GB' } });
        expect(await adaClient.account.profile().orThrow()).toEqual(after);
    });
});

describe('a staff member with MFA fulfils and refunds', () => {
    let admin: TillbaseClient;

    beforeAll(async () => {
        admin = await signedIn(stack, await stack.staffUser('admin'));
    });

    it('enrols a TOTP factor and reaches aal2', async () => {
        expect(await admin.account.mfa.assurance().orThrow()).toEqual({ current: 'aal1', next: 'aal1' });
        const enrolment = await admin.account.mfa.enrollTotp({ friendlyName: 'phone' }).orThrow();
        expect(enrolment.uri).toMatch(/^otpauth:\/\/totp\//);
        expect(enrolment.qrCode).toMatch(/^data:image\/svg\+xml/);
        const wrong = await admin.account.mfa.verifyTotp(enrolment.factorId, totpCode(enrolment.secret) === '000000' ? '111111' : '000000');
        expect(wrong.error).toMatchObject({ code: 'invalid_argument', status: 422 });
        expect(await admin.account.mfa.verifyTotp(enrolment.factorId, totpCode(enrolment.secret)).orThrow()).toEqual({ aal: 'aal2' });
        expect(await admin.account.mfa.assurance().orThrow()).toEqual({ current: 'aal2', next: 'aal2' });
        expect(await admin.account.mfa.factors().orThrow()).toEqual([{ id: enrolment.factorId, type: 'totp', friendlyName: 'phone', status: 'verified' }]);
    });

    it('finds the customer’s paid orders, fulfils one (shipping mail with tracking) and refunds part of it', async () => {
        const found = await admin.staff.orders.search({ email: ada.email, status: ['paid', 'fulfilling'] }).orThrow();
        expect(found.orders.map((o) => o.id).sort()).toEqual([adaOrders.intent, adaOrders.session].sort());
        expect(found.total).toBe(2);

        await admin.staff.fulfil(adaOrders.intent!, 'picking').orThrow();
        const shipped = await admin.staff.fulfil(adaOrders.intent!, 'shipped', '1Z999AA10123456784').orThrow();
        expect(shipped).toMatchObject({ status: 'fulfilled', fulfillment_status: 'shipped', tracking_number: '1Z999AA10123456784' });

        const refundOnce = { idempotencyKey: `support-ticket-${adaOrders.intent}` };
        const refund = await admin.staff.refund(adaOrders.intent!, 1500, 'requested_by_customer', refundOnce).orThrow();
        expect(refund).toMatchObject({ order_id: adaOrders.intent, amount: 1500, currency: 'EUR', stripe_refund_id: expect.stringMatching(/^re_/) });
        // A retry (a timeout, a double click) answers the same refund, as it stands now; `order.refunds` below has one.
        const retried = await admin.staff.refund(adaOrders.intent!, 1500, 'requested_by_customer', refundOnce).orThrow();
        expect(retried).toMatchObject({ refund_id: refund.refund_id, stripe_refund_id: refund.stripe_refund_id, amount: 1500 });
        await stack.stripe.webhooks.settled();

        const order = await adaClient.orders.get(adaOrders.intent!).orThrow();
        expect(order).toMatchObject({ fulfillment_status: 'shipped', tracking_number: '1Z999AA10123456784', payment_status: 'partially_refunded' });
        expect(order.refunds).toEqual([expect.objectContaining({ id: refund.refund_id, amount: 1500, status: 'succeeded' })]);

        await runNotifications();
        const subjects = stack.mail.messages().filter((m) => m.to.some((to) => to.includes(ada.email))).map((m) => m.subject);
        expect(subjects).toEqual(expect.arrayContaining([expect.stringContaining('has shipped'), expect.stringContaining('refund for order')]));
    });

    it('receives stock through the ledger', async () => {
        const level = await admin.staff.inventory.adjust({ variantId: shop.variants.mug.id, quantity: 12, reason: 'delivery 42', kind: 'receipt' }).orThrow();
        expect(level).toEqual({ variant_id: shop.variants.mug.id, on_hand: 12, reserved: 0 });
        expect((await sdkClient(stack).catalog.get(shop.mug).orThrow()).in_stock).toBe(true);
    });

    it('lists dead letters and replays one (an ERP message needs the aal2 it has)', async () => {
        const [dead] = await stack.db.query<{ id: string }>(
            `update private.outbox set status = 'dead', last_error = 'ERP down', attempts = 8
             where id = (select id from private.outbox where topic = 'erp.order.upsert' and aggregate_id = $1 order by id limit 1)
             returning id`,
            [adaOrders.session],
        );
        const letters = await admin.staff.outbox.deadLetters({ topic: 'erp.order.upsert', limit: 10 }).orThrow();
        expect(letters.map((l) => l.id)).toContain(Number(dead!.id));
        expect(letters.find((l) => l.id === Number(dead!.id))).toMatchObject({ last_error: 'ERP down', order_number: expect.stringMatching(/^TB-/) });
        expect(await admin.staff.outbox.replay(Number(dead!.id)).orThrow()).toEqual({ id: Number(dead!.id), status: 'pending' });
    });
});

describe('a second customer', () => {
    it('sees none of it: no orders, no cart, no profile but their own, no order to read, watch or cancel', async () => {
        const grace = await signedIn(stack, await stack.user('grace'));
        expect(await grace.orders.list().orThrow()).toEqual([]);
        expect(await grace.cart.get().orThrow()).toBeNull();
        expect((await grace.staff.orders.search().orThrow()).orders).toEqual([]);
        expect((await grace.account.profile().orThrow()).email).not.toBe(ada.email);
        for (const id of [adaOrders.intent!, adaOrders.session!]) {
            expect((await grace.orders.get(id)).error).toMatchObject({ code: 'not_found' });
            expect((await grace.orders.cancel(id)).error).toMatchObject({ code: 'not_found' });
            const watch = grace.orders.watch(id, () => {
                throw new Error('a stranger received an order');
            });
            expect((await watch.ready).error).toMatchObject({ code: 'not_found' });
            await watch.stop();
        }
        // Ada's orders are as they were.
        expect((await adaClient.orders.list().orThrow()).map((o) => o.status)).toEqual(['paid', 'fulfilled']);
    });
});
