// The shop on Realtime: a customer subscribed to their order sees it turn paid when
// the Stripe event is applied (SQL API, as the webhook does); other customers and anon
// see nothing of it; staff see new orders; the private order:<id> topic carries the
// status broadcast to the customer and staff only.
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, createStaff, placeOrder, applyEvent, stripeEvent, stripeId, type Shop } from '../../harness/commerce-shop.js';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import { accessToken, Inbox, subscribed, subscribeOutcome, useRealtime } from '../../harness/realtime.js';

interface Change {
    eventType: string;
    new: Record<string, unknown>;
    old: Record<string, unknown>;
    errors: string[] | null;
}

describe('orders on realtime', () => {
    const db = useTestDatabase();
    const rt = useRealtime(db);
    let shop: Shop;
    let ada: TestUser;
    let bob: TestUser;

    beforeAll(async () => {
        shop = await createShop(db);
        ada = await db.createUser();
        bob = await db.createUser();
    });

    const pay = async (orderId: string, total: number) => {
        const paymentIntent = stripeId('pi');
        await db.asService((q) => q('select public.attach_payment($1, $2)', [orderId, paymentIntent]));
        await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId, paymentIntent, amount: total }));
    };

    it("the customer sees pending_payment → paid; another customer and anon see nothing of it; staff see the order arrive", async () => {
        const adaChannel = rt.client({ token: await accessToken(ada.claims()) }).channel('my-orders');
        const bobChannel = rt.client({ token: await accessToken(bob.claims()) }).channel('all-orders');
        const anonChannel = rt.client().channel('anon-orders');
        const staff = await createStaff(db, 'support');
        const staffChannel = rt.client({ token: await accessToken(staff.token()) }).channel('staff-orders');
        const [adaInbox, bobInbox, anonInbox, staffInbox] = [new Inbox<Change>(), new Inbox<Change>(), new Inbox<Change>(), new Inbox<Change>()];
        bobChannel.on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, bobInbox.push);
        anonChannel.on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, anonInbox.push);
        staffChannel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'orders' }, staffInbox.push);
        await Promise.all([subscribed(bobChannel), subscribed(anonChannel), subscribed(staffChannel)]);

        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        await staffInbox.count(1);
        expect(staffInbox.items[0]!.new).toMatchObject({ id: order.id, status: 'pending_payment' });

        adaChannel.on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'orders', filter: `id=eq.${order.id}` }, adaInbox.push);
        await subscribed(adaChannel);
        await pay(order.id, Number(order.total_amount));
        await adaInbox.count(1);
        const paid = adaInbox.items.find((c) => c.new.status === 'paid');
        expect(paid).toMatchObject({ eventType: 'UPDATE', new: { id: order.id, status: 'paid', payment_status: 'captured' }, old: { id: order.id } });

        // Bob's own order changes after Ada's: once he has it, he would have had Ada's too.
        const bobsOrder = await placeOrder(db, bob, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        await bobInbox.count(1);
        expect(bobInbox.items.map((c) => c.new.id)).toEqual([bobsOrder.id]);
        // Anon cannot select orders: like Supabase, it only learns that something changed, never a row.
        await anonInbox.count(2);
        for (const change of anonInbox.items) {
            expect(change.new).toEqual({});
            expect(change.old).toEqual({});
            expect(change.errors).toEqual(['Error 401: Unauthorized']);
        }
    });

    it('the private order:<id> topic broadcasts the status change to the customer and staff, and refuses others', async () => {
        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const topic = `order:${order.id}`;
        const staff = await createStaff(db, 'warehouse');
        const customer = rt.client({ token: await accessToken(ada.claims()) }).channel(topic, { config: { private: true } });
        const warehouse = rt.client({ token: await accessToken(staff.token()) }).channel(topic, { config: { private: true } });
        const [customerInbox, staffInbox] = [new Inbox<{ event: string; payload: Record<string, unknown> }>(), new Inbox<{ event: string; payload: Record<string, unknown> }>()];
        customer.on('broadcast', { event: 'status_changed' }, customerInbox.push);
        warehouse.on('broadcast', { event: 'status_changed' }, staffInbox.push);
        await Promise.all([subscribed(customer), subscribed(warehouse)]);

        const reason = `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`;
        expect(await subscribeOutcome(rt.client({ token: await accessToken(bob.claims()) }).channel(topic, { config: { private: true } }))).toEqual({
            status: 'CHANNEL_ERROR',
            message: reason,
        });
        expect(await subscribeOutcome(rt.client().channel(topic, { config: { private: true } }))).toEqual({ status: 'CHANNEL_ERROR', message: reason });

        await pay(order.id, Number(order.total_amount));
        await customerInbox.count(1);
        await staffInbox.count(1);
        expect(customerInbox.items[0]!.payload).toMatchObject({
            operation: 'UPDATE',
            schema: 'public',
            table: 'orders',
            record: { id: order.id, status: 'paid' },
            old_record: { id: order.id, status: 'pending_payment' },
        });
        expect(staffInbox.items[0]!.payload).toEqual(customerInbox.items[0]!.payload);
    });
});
