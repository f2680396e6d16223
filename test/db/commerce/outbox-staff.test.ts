// The outbox SQL added for the workers and staff: dead letters listed (admin, support) and
// replayed (admin; aal2 for ERP and Stripe messages), permanent failures dead-lettered at
// once, batch completion, and the claim's order (due time, then id) with done rows behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../harness/db.js';
import { createShop, createStaff, paidOrder, type Shop, type Staff } from '../../harness/commerce-shop.js';

const db = useTestDatabase();
let shop: Shop;
let admin: Staff;
let support: Staff;

beforeAll(async () => {
    shop = await createShop(db, 100);
    admin = await createStaff(db, 'admin');
    support = await createStaff(db, 'support');
});

async function message(topic: string, status: 'pending' | 'processing' | 'dead', key: string, aggregateId: string | null = null): Promise<string> {
    const [row] = await db.query<{ id: string }>(
        `insert into private.outbox (topic, aggregate_type, aggregate_id, idempotency_key, status, attempts, locked_until, last_error)
         values ($1, 'order', $2, $3, $4::private.outbox_status, case when $4::text = 'pending' then 0 else 1 end,
                 case when $4::text = 'processing' then now() + interval '1 hour' end, case when $4::text = 'dead' then 'boom' end) returning id`,
        [topic, aggregateId, key, status],
    );
    return row!.id;
}

describe('dead letters for staff', () => {
    it('lists dead letters newest first with the order number, pages by id, filters by topic', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const older = await message('email.order_shipped', 'dead', 'list-1', order.id);
        const newer = await message('email.order_shipped', 'dead', 'list-2', order.id);
        const rows = await db.asUser(support.token(), (q) => q<{ id: string; order_number: string; last_error: string }>('select id, order_number, last_error from public.list_dead_letters($1)', ['email.order_shipped']));
        expect(rows).toEqual([
            { id: newer, order_number: order.number, last_error: 'boom' },
            { id: older, order_number: order.number, last_error: 'boom' },
        ]);
        const page = await db.asUser(support.token(), (q) => q<{ id: string }>('select id from public.list_dead_letters($1, 10, $2)', ['email.order_shipped', Number(newer)]));
        expect(page).toEqual([{ id: older }]);
        await expect(db.asUser(support.token(), (q) => q('select id from public.list_dead_letters(null, 0)'))).rejects.toMatchObject({ code: '22023' });
    });

    it('lets an admin replay an email without MFA, but an ERP or Stripe message only with aal2', async () => {
        const email = await message('email.order_confirmation', 'dead', 'replay-email');
        const erp = await message('erp.order.upsert', 'dead', 'replay-erp');
        const stripe = await message('stripe.refund.create', 'dead', 'replay-stripe');
        await db.asUser(admin.token(), (q) => q('select public.replay_outbox_message($1)', [email]));
        for (const id of [erp, stripe]) {
            await expect(db.asUser(admin.token(), (q) => q('select public.replay_outbox_message($1)', [id]))).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('aal2') });
            await expect(db.asUser(support.token('aal2'), (q) => q('select public.replay_outbox_message($1)', [id]))).rejects.toMatchObject({ code: '42501' });
            await db.asUser(admin.token('aal2'), (q) => q('select public.replay_outbox_message($1)', [id]));
        }
        expect(await db.query('select status, attempts from private.outbox where id = any($1) order by id', [[email, erp, stripe]])).toEqual([
            { status: 'pending', attempts: 0 },
            { status: 'pending', attempts: 0 },
            { status: 'pending', attempts: 0 },
        ]);
        expect(await db.query(`select count(*)::int as n from private.audit_log where action = 'outbox.replay' and entity_id = any($1)`, [[email, erp, stripe]])).toEqual([{ n: 3 }]);
    });
});

describe('the schedule', () => {
    it('runs the outbox workers every few seconds and the stock pull every five minutes', async () => {
        expect(await db.query(`select name, schedule, function_name, enabled from scheduler.jobs where name like 'erp-%' or name = 'notifications' order by name`)).toEqual([
            { name: 'erp-stock-pull', schedule: '*/5 * * * *', function_name: 'erp-stock-pull', enabled: true },
            { name: 'erp-sync', schedule: '5 seconds', function_name: 'erp-sync', enabled: true },
            { name: 'notifications', schedule: '5 seconds', function_name: 'notifications', enabled: true },
        ]);
    });
});

describe('settling messages', () => {
    it('dead-letters a permanent failure at once and says so on the order', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        const claimed = (await db.asService((q) => q<{ id: string; aggregate_id: string }>(`select id, aggregate_id from public.claim_outbox_batch('erp.order.upsert', 10)`))).find((m) => m.aggregate_id === order.id);
        await db.asService((q) => q(`select public.dead_letter_outbox_message($1, 'product unknown to the ERP')`, [claimed!.id]));
        expect(await db.query('select status, last_error from private.outbox where id = $1', [claimed!.id])).toEqual([{ status: 'dead', last_error: 'product unknown to the ERP' }]);
        expect(await db.query('select erp_status from public.orders where id = $1', [order.id])).toEqual([{ erp_status: 'dead' }]);
        await expect(db.asService((q) => q(`select public.dead_letter_outbox_message($1, 'again')`, [claimed!.id]))).rejects.toMatchObject({ code: 'TB001' });
    });

    it('completes a batch in one call, skipping what is not in flight, and refuses ERP upserts', async () => {
        const inFlight = await message('email.refund_issued', 'processing', 'batch-1');
        const pending = await message('email.refund_issued', 'pending', 'batch-2');
        const [{ n }] = (await db.asService((q) => q<{ n: number }>('select public.complete_outbox_messages($1::bigint[]) as n', [[inFlight, pending]]))) as [{ n: number }];
        expect(n).toBe(1);
        expect(await db.query('select status from private.outbox where id = any($1) order by id', [[inFlight, pending]])).toEqual([{ status: 'done' }, { status: 'pending' }]);
        const erp = await message('erp.order.upsert', 'processing', 'batch-erp');
        await expect(db.asService((q) => q('select public.complete_outbox_messages($1::bigint[])', [[erp]]))).rejects.toMatchObject({ code: '22023' });
    });

    it('claims by due time, then id, whatever the done rows before them', async () => {
        const topic = 'test.claim_order';
        const t0 = new Date(Date.now() + 3_600_000);
        const ids: string[] = [];
        for (const [i, offset] of [[1, 30], [2, 10], [3, 10], [4, 20]] as const) {
            const [row] = await db.query<{ id: string }>(
                `insert into private.outbox (topic, aggregate_type, idempotency_key, next_attempt_at) values ($1, 'test', $2, $3) returning id`,
                [topic, `claim-order-${i}`, new Date(t0.getTime() + offset * 1000)],
            );
            ids.push(row!.id);
        }
        const claim = (limit: number, at: number) =>
            db.asService((q) => q<{ id: string }>(`select id from public.claim_outbox_batch($1, $2, interval '60 seconds', null, $3)`, [topic, limit, new Date(t0.getTime() + at * 1000)]));
        // At +35 s all are due: the two due first (+10 s) come first, not the oldest id (+30 s).
        expect((await claim(2, 35)).map((r) => r.id)).toEqual([ids[1], ids[2]]);
        // At +25 s: #4 (+20 s) is due, #1 (+30 s) is not.
        expect((await claim(10, 25)).map((r) => r.id)).toEqual([ids[3]]);
    });
});
