// Order emails end to end on real Deno: the notifications function takes the email.*
// outbox messages written by the SQL API (paid, payment failed, shipped, refunded), renders
// them and sends them over SMTP into the mail catcher. Each template arrives once; running
// the worker again sends nothing more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../stack/http.js';
import { createMailCatcher, type MailCatcher } from '../../stack/mail/index.js';
import { startSmtpListener, type SmtpListener } from '../../stack/mail/smtp.js';
import { useTestDatabase } from '../harness/db.js';
import { applyEvent, createShop, createStaff, paidOrder, placeOrder, stripeEvent, stripeId, type Shop } from '../harness/commerce-shop.js';
import { serveProjectFunctions, type ProjectFunctions } from '../harness/functions-stack.js';

const db = useTestDatabase();
let catcher: MailCatcher;
let smtp: SmtpListener;
let api: Listening;
let stack: ProjectFunctions;
let shop: Shop;

interface Listed {
    ID: string;
    Subject: string;
    To: Array<{ Address: string }>;
}

beforeAll(async () => {
    catcher = createMailCatcher();
    smtp = await startSmtpListener(catcher, { port: 0 });
    api = await listen(catcher.handler, { port: 0 });
    stack = await serveProjectFunctions({
        dbUrl: db.url,
        stackSecrets: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SHOP_NAME: 'Tillbase Test Shop', MAIL_FROM: 'Tillbase Test Shop <orders@shop.test>' },
    });
    shop = await createShop(db, 100);
}, 120_000);

afterAll(async () => {
    await stack?.stop();
    await smtp?.close();
    await api?.close();
});

const listed = async (query: string): Promise<Listed[]> =>
    ((await (await fetch(`${api.url}/api/v1/search?query=${encodeURIComponent(query)}`)).json()) as { messages: Listed[] }).messages;

async function runNotifications(): Promise<{ claimed: number; done: number }> {
    const { status, body } = await stack.invoke('notifications', { batch: 20 });
    expect(status, JSON.stringify(body)).toBe(200);
    return body as { claimed: number; done: number };
}

describe('notifications (real Deno, SMTP into the mail catcher)', () => {
    it('delivers order confirmation, payment failed, shipped with tracking and refund emails once each', async () => {
        const ada = await db.createUser({ email: 'ada@customers.test' });
        const grace = await db.createUser({ email: 'grace@customers.test' });
        const warehouse = await createStaff(db, 'warehouse');

        // Ada's order is paid, shipped with tracking, then partly refunded.
        const paid = await paidOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 2 }, { variant_id: shop.variants[1]!.id, quantity: 1 }]);
        await db.asUser(warehouse.token(), (q) => q(`select public.set_fulfillment_status($1, 'shipped', '1Z999AA10123456784')`, [paid.id]));
        await applyEvent(db, stripeEvent('charge.refunded', { orderId: paid.id, paymentIntent: paid.paymentIntent, amount: Number(paid.total_amount), amountRefunded: shop.variants[1]!.price }));
        // Grace's card is declined.
        const unpaid = await placeOrder(db, grace, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const intent = stripeId('pi');
        await db.asService((q) => q('select public.attach_payment($1, $2)', [unpaid.id, intent]));
        await applyEvent(db, stripeEvent('payment_intent.payment_failed', { orderId: unpaid.id, paymentIntent: intent }));

        const first = await runNotifications();
        expect(first).toMatchObject({ claimed: 4, done: 4 });

        const toAda = await listed('to:ada@customers.test');
        expect(toAda.map((m) => m.Subject).sort()).toEqual(
            [
                `Tillbase Test Shop: order ${paid.number} confirmed`,
                `Tillbase Test Shop: order ${paid.number} has shipped`,
                `Tillbase Test Shop: refund for order ${paid.number}`,
            ].sort(),
        );
        const toGrace = await listed('to:grace@customers.test');
        expect(toGrace.map((m) => m.Subject)).toEqual([`Tillbase Test Shop: payment for order ${unpaid.number} failed`]);

        const shipped = toAda.find((m) => m.Subject.endsWith('has shipped'))!;
        const body = (await (await fetch(`${api.url}/api/v1/message/${shipped.ID}`)).json()) as { Text: string; HTML: string; From: { Address: string } };
        expect(body.From.Address).toBe('orders@shop.test');
        expect(body.Text).toContain('Tracking number: 1Z999AA10123456784');
        expect(body.Text).toContain(`Total: €${(Number(paid.total_amount) / 100).toFixed(2)}`);
        expect(body.HTML).toContain('<strong>1Z999AA10123456784</strong>');

        const refund = toAda.find((m) => m.Subject.includes('refund'))!;
        const refundBody = (await (await fetch(`${api.url}/api/v1/message/${refund.ID}`)).json()) as { Text: string };
        expect(refundBody.Text).toContain(`We refunded €${(shop.variants[1]!.price / 100).toFixed(2)}`);

        const deliveries = await db.query<{ template: string; provider: string }>('select template, provider from private.email_deliveries order by template');
        expect(deliveries).toEqual([
            { template: 'order_confirmation', provider: 'smtp' },
            { template: 'order_shipped', provider: 'smtp' },
            { template: 'payment_failed', provider: 'smtp' },
            { template: 'refund_issued', provider: 'smtp' },
        ]);

        // Nothing is sent twice: another run finds nothing, and the catcher still has four.
        expect(await runNotifications()).toMatchObject({ claimed: 0 });
        expect(catcher.messages()).toHaveLength(4);
    }, 120_000);

    it('completes a message whose delivery was recorded but whose completion was lost, without sending it again', async () => {
        const customer = await db.createUser({ email: 'lost-completion@customers.test' });
        const order = await paidOrder(db, customer, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const [message] = await db.query<{ id: string }>(`select id from private.outbox where topic = 'email.order_confirmation' and aggregate_id = $1`, [order.id]);
        // A worker sent it and recorded the delivery, then its lease ran out before the message was settled.
        await db.query(
            `insert into private.email_deliveries (outbox_id, idempotency_key, order_id, template, recipient, provider)
             select id, idempotency_key, aggregate_id, 'order_confirmation', 'lost-completion@customers.test', 'smtp' from private.outbox where id = $1`,
            [message!.id],
        );
        expect(await runNotifications()).toMatchObject({ claimed: 1, done: 1 });
        expect(await db.query('select status from private.outbox where id = $1', [message!.id])).toEqual([{ status: 'done' }]);
        expect(await listed('to:lost-completion@customers.test')).toEqual([]);
    }, 60_000);
});
