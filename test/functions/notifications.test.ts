// notifications in-process under Node with Resend as the provider, played by a small local
// HTTP server that answers like Resend's POST /emails: the outbox key travels as the
// Idempotency-Key, a refused email (422) is dead-lettered at once, a 5xx backs off.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handle, type NotificationsDeps } from '../../functions/notifications/handler.ts';
import { createLogger } from '../../functions/_shared/log.ts';
import { createResendProvider } from '../../functions/_shared/mail.ts';
import { createPgPool } from '../../stack/db/connect.js';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { useTestDatabase } from '../harness/db.js';
import { createShop, paidOrder, type Shop } from '../harness/commerce-shop.js';

const db = useTestDatabase();
let pool: pg.Pool;
let shop: Shop;
let resend: http.Server;
let resendUrl = '';
let answer: { status: number; body: unknown } = { status: 200, body: { id: 'unused' } };
const received: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }> = [];
let now = new Date(Date.now() + 60_000);

beforeAll(async () => {
    pool = createPgPool({ connectionString: db.url, max: 4 });
    shop = await createShop(db, 100);
    resend = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
            received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
            res.writeHead(answer.status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(answer.body));
        });
    });
    await new Promise<void>((resolve) => resend.listen(0, '127.0.0.1', resolve));
    resendUrl = `http://127.0.0.1:${(resend.address() as AddressInfo).port}`;
});

afterAll(async () => {
    await new Promise((resolve) => resend.close(resolve));
    await pool.end();
});

beforeEach(() => {
    received.length = 0;
    now = new Date(now.getTime() + 3_600_000);
});

const deps = (): NotificationsDeps => ({
    serviceKeys: [LOCAL_SERVICE_ROLE_KEY],
    db: pool,
    mail: createResendProvider({ apiKey: 're_test_key', baseUrl: resendUrl }),
    shop: { name: 'Tillbase', locale: 'en-US' },
    from: 'Tillbase <orders@tillbase.test>',
    clock: () => now,
    log: createLogger({}, () => {}),
    worker: 'test',
});

const run = async (key = LOCAL_SERVICE_ROLE_KEY) =>
    handle(new Request('http://functions/notifications', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ retry_base_ms: 1000 }) }), deps());

const confirmation = async (orderId: string) =>
    (await db.query<{ status: string; attempts: number; idempotency_key: string }>(
        `select status, attempts, idempotency_key from private.outbox where topic = 'email.order_confirmation' and aggregate_id = $1`,
        [orderId],
    ))[0]!;

describe('notifications through Resend', () => {
    it('sends the confirmation with the outbox key as Idempotency-Key and records the delivery', async () => {
        const customer = await db.createUser({ email: 'resend-customer@example.test' });
        const order = await paidOrder(db, customer, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        answer = { status: 200, body: { id: '49a3999c-0ce1-4ea6-ab68-afcd6dc2e794' } };
        expect(await (await run()).json()).toMatchObject({ claimed: 1, done: 1 });

        expect(received).toHaveLength(1);
        const [request] = received;
        expect(request!.headers.authorization).toBe('Bearer re_test_key');
        expect(request!.headers['idempotency-key']).toBe(`email.order_confirmation:${order.id}`);
        expect(request!.body).toMatchObject({ from: 'Tillbase <orders@tillbase.test>', to: ['resend-customer@example.test'], subject: `Tillbase: order ${order.number} confirmed` });
        expect(request!.body.html).toContain(order.number);
        expect(await db.query('select provider, provider_message_id, recipient from private.email_deliveries where order_id = $1', [order.id])).toEqual([
            { provider: 'resend', provider_message_id: '49a3999c-0ce1-4ea6-ab68-afcd6dc2e794', recipient: 'resend-customer@example.test' },
        ]);
        expect((await confirmation(order.id)).status).toBe('done');
    });

    it('dead-letters an email Resend refuses (422) at once, and backs off on a 5xx', async () => {
        const refused = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        answer = { status: 422, body: { name: 'validation_error', message: 'Invalid `to` field.' } };
        expect(await (await run()).json()).toMatchObject({ claimed: 1, dead: 1 });
        expect(await confirmation(refused.id)).toMatchObject({ status: 'dead', attempts: 1 });

        const flaky = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        answer = { status: 503, body: { name: 'internal_server_error', message: 'try later' } };
        expect(await (await run()).json()).toMatchObject({ claimed: 1, retried: 1 });
        expect(await confirmation(flaky.id)).toMatchObject({ status: 'pending', attempts: 1 });
        answer = { status: 200, body: { id: 'ok-after-retry' } };
        now = new Date(now.getTime() + 60_000);
        expect(await (await run()).json()).toMatchObject({ claimed: 1, done: 1 });
        // Both tries carried the same key: Resend sends it once.
        expect(new Set(received.map((r) => r.headers['idempotency-key']))).toEqual(new Set([`email.order_confirmation:${refused.id}`, `email.order_confirmation:${flaky.id}`]));
    });

    it('refuses a caller that is not the service role and sends nothing', async () => {
        await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const response = await run(LOCAL_ANON_KEY);
        expect(response.status).toBe(403);
        expect(received).toHaveLength(0);
    });
});
