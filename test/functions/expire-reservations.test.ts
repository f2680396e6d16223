// The expire-reservations job, in-process under Node against a real test database: the
// handler as the local scheduler runs it (the job row the migration declares, an injected
// clock moved minute by minute), its caller check, its failures, and two runs at once.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handle, type ExpireReservationsDeps } from '../../functions/expire-reservations/handler.ts';
import { createLogger } from '../../functions/_shared/log.ts';
import { createPgPool } from '../../stack/db/connect.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { createScheduler, jobsFromDatabase } from '../../stack/scheduler/index.js';
import { useTestDatabase, type TestUser } from '../harness/db.js';
import { applyEvent, createShop, placeOrderAt, stripeEvent, stripeId, type Shop } from '../harness/commerce-shop.js';

const db = useTestDatabase();
let shop: Shop;
let pool: pg.Pool;
const logLines: string[] = [];

/** Minute-aligned, an hour ago: every deadline below is in the real past too, so place_order never caps it. */
const base = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000);
const at = (seconds: number) => new Date(base.getTime() + seconds * 1000);

function deps(now: () => Date, db: ExpireReservationsDeps['db'] = pool): ExpireReservationsDeps {
    return { db, serviceKeys: [LOCAL_SERVICE_ROLE_KEY, LOCAL_SECRET_KEY], now, log: createLogger({}, (line) => logLines.push(line)) };
}

const call = (authorization: string | null, body: unknown = {}, method = 'POST') =>
    new Request('http://127.0.0.1/expire-reservations', {
        method,
        headers: authorization ? { authorization, 'content-type': 'application/json' } : { 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : JSON.stringify(body),
    });

async function variant(onHand: number): Promise<string> {
    const [row] = await db.query<{ id: string }>(
        `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, $2, 1000, 'EUR') returning id`,
        [shop.productId, `EXP-${randomUUID().slice(0, 8)}`],
    );
    await db.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)', [row!.id, onHand]);
    return row!.id;
}

async function reserved(variantId: string): Promise<number> {
    const [row] = await db.query<{ reserved: number }>('select reserved from public.inventory_levels where variant_id = $1', [variantId]);
    return row!.reserved;
}

async function statusOf(orderId: string): Promise<string> {
    const [row] = await db.query<{ status: string }>('select status from public.orders where id = $1', [orderId]);
    return row!.status;
}

const customer = (): Promise<TestUser> => db.createUser();

beforeAll(async () => {
    shop = await createShop(db);
    pool = createPgPool({ connectionString: db.url, max: 4 });
});

afterAll(async () => {
    await pool?.end();
});

describe('who may run the job', () => {
    it('refuses a call without a key (401), with the anon key or a customer\'s token (403), and releases nothing', async () => {
        const v = await variant(5);
        const overdue = await placeOrderAt(db, await customer(), [{ variant_id: v, quantity: 2 }], at(-600));
        const customerToken = await new SignJWT({ role: 'authenticated', aud: 'authenticated', sub: randomUUID() })
            .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode(LOCAL_JWT_SECRET));
        const now = () => new Date();
        const missing = await handle(call(null), deps(now));
        expect([missing.status, await missing.json()]).toEqual([401, { code: 'unauthenticated', message: expect.any(String) }]);
        for (const key of [LOCAL_ANON_KEY, customerToken, `${LOCAL_SERVICE_ROLE_KEY}x`]) {
            const response = await handle(call(`Bearer ${key}`), deps(now));
            expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([403, 'forbidden']);
        }
        expect(await statusOf(overdue.id)).toBe('pending_payment');
        expect(await reserved(v)).toBe(2);
    });

    it('accepts the opaque secret key as well as the service_role JWT', async () => {
        const response = await handle(call(`Bearer ${LOCAL_SECRET_KEY}`), deps(() => at(-3600)));
        expect(response.status).toBe(200);
    });

    it('answers a malformed body 400 and a GET 405, releasing nothing', async () => {
        const v = await variant(5);
        const overdue = await placeOrderAt(db, await customer(), [{ variant_id: v, quantity: 1 }], at(-600));
        const bad = await handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`, { batch: 0 }), deps(() => new Date()));
        expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'invalid_argument']);
        const get = await handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`, undefined, 'GET'), deps(() => new Date()));
        expect(get.status).toBe(405);
        expect(await statusOf(overdue.id)).toBe('pending_payment');
    });

    it('answers 503 unavailable when the database cannot be reached', async () => {
        const down = createPgPool({ connectionString: 'postgresql://postgres:postgres@127.0.0.1:1/postgres', max: 1 });
        try {
            const response = await handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`), deps(() => new Date(), down));
            expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([503, 'unavailable']);
        } finally {
            await down.end();
        }
    });
});

describe('run by the scheduler every minute', () => {
    it('the declared job releases every reservation at the first run after its deadline, within a minute of it', async () => {
        const source = jobsFromDatabase(db.url);
        try {
            const jobs = await source.loadJobs();
            const job = jobs.find((j) => j.name === 'expire-reservations');
            expect(job).toMatchObject({ schedule: '* * * * *', functionName: 'expire-reservations' });

            const v = await variant(20);
            const w = await variant(20);
            // Deadlines (seconds after base): 30 no payment; 45 authorized (7 days after the
            // authorization's time); 60 a failed payment; 90 no payment, two variants.
            const plain = await placeOrderAt(db, await customer(), [{ variant_id: v, quantity: 1 }], at(-30));
            const authorized = await placeOrderAt(db, await customer(), [{ variant_id: v, quantity: 2 }], at(-60));
            const authorizedIntent = stripeId('pi');
            await db.asService((q) => q('select public.attach_payment($1, $2)', [authorized.id, authorizedIntent]));
            await applyEvent(
                db,
                stripeEvent('payment_intent.amount_capturable_updated', {
                    orderId: authorized.id,
                    paymentIntent: authorizedIntent,
                    amount: Number(authorized.total_amount),
                    created: Math.floor(at(45).getTime() / 1000) - 7 * 86_400,
                }),
            );
            const failed = await placeOrderAt(db, await customer(), [{ variant_id: w, quantity: 3 }], at(0));
            const failedIntent = stripeId('pi');
            await applyEvent(db, stripeEvent('payment_intent.payment_failed', { orderId: failed.id, paymentIntent: failedIntent }));
            const later = await placeOrderAt(db, await customer(), [{ variant_id: v, quantity: 1 }, { variant_id: w, quantity: 1 }], at(30));
            const deadlines = new Map<string, Date>();
            for (const o of [plain, authorized, failed, later]) {
                const [row] = await db.query<{ expires_at: Date }>('select expires_at from public.orders where id = $1', [o.id]);
                deadlines.set(o.id, row!.expires_at);
            }
            expect([...deadlines.values()].map((d) => (d.getTime() - base.getTime()) / 1000)).toEqual([30, 45, 60, 90]);
            expect([await reserved(v), await reserved(w)]).toEqual([4, 4]);

            let clock = at(0);
            const statuses: number[] = [];
            const scheduler = createScheduler({
                loadJobs: async () => [job!],
                invoke: async (j) => {
                    const response = await handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`, j.body), deps(() => clock));
                    statuses.push(response.status);
                    return response.status;
                },
                now: () => clock,
                log: () => {},
            });
            const expiredAt = new Map<string, Date>();
            for (const minute of [0, 1, 2, 3]) {
                clock = at(minute * 60);
                await scheduler.tick();
                await scheduler.idle();
                for (const id of deadlines.keys()) {
                    if (!expiredAt.has(id) && (await statusOf(id)) === 'expired') expiredAt.set(id, clock);
                }
                // After each run no hold whose deadline passed is left active.
                const [left] = await db.query<{ n: number }>(
                    `select count(*)::int as n from public.inventory_reservations where status = 'active' and expires_at <= $1`,
                    [clock],
                );
                expect(left!.n, `active reservations past their deadline after the run at minute ${minute}`).toBe(0);
            }
            expect(statuses).toEqual([200, 200, 200, 200]);
            for (const [id, deadline] of deadlines) {
                const released = expiredAt.get(id)!;
                expect(released.getTime()).toBeGreaterThanOrEqual(deadline.getTime());
                expect(released.getTime() - deadline.getTime()).toBeLessThanOrEqual(60_000);
            }
            expect([await reserved(v), await reserved(w)]).toEqual([0, 0]);
            // Payments started for expired orders are canceled at Stripe, through the outbox.
            const cancels = await db.query<{ aggregate_id: string }>(
                `select aggregate_id from private.outbox where topic = 'stripe.payment.cancel' and aggregate_id = any ($1) order by aggregate_id`,
                [[authorized.id, failed.id, plain.id, later.id]],
            );
            expect(cancels.map((c) => c.aggregate_id).sort()).toEqual([authorized.id, failed.id].sort());
            expect(JSON.parse(logLines.at(-1)!)).toMatchObject({ level: 'info', msg: 'reservations expired' });
        } finally {
            await source.close();
        }
    });
});

describe('two runs at once', () => {
    it('release every overdue hold exactly once, without deadlocks, whatever the batch size', async () => {
        const v = await variant(100);
        const w = await variant(100);
        const orders = [];
        for (let i = 0; i < 30; i++) {
            // Orders alternate between the two variants (and sometimes hold both): two runs that
            // released stock order by order would lock the levels in opposite orders and deadlock.
            const items = i % 3 === 0 ? [{ variant_id: w, quantity: 2 }, { variant_id: v, quantity: 1 }] : i % 3 === 1 ? [{ variant_id: v, quantity: 1 }] : [{ variant_id: w, quantity: 2 }];
            orders.push(await placeOrderAt(db, await customer(), items, at(-1800 + i)));
        }
        expect([await reserved(v), await reserved(w)]).toEqual([20, 40]);
        const [due] = await db.query<{ n: number }>(
            `select count(*)::int as n from public.orders where status = 'pending_payment' and expires_at <= $1`,
            [at(0)],
        );
        const now = () => at(0);
        const responses = await Promise.all([
            handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`, { batch: 4 }), deps(now)),
            handle(call(`Bearer ${LOCAL_SERVICE_ROLE_KEY}`, { batch: 7 }), deps(now)),
        ]);
        const summaries = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, number>>));
        expect(responses.map((r) => r.status)).toEqual([200, 200]);
        const ours = await db.query<{ status: string; n: number }>(
            `select status, count(*)::int as n from public.orders where id = any ($1) group by status`,
            [orders.map((o) => o.id)],
        );
        expect(ours).toEqual([{ status: 'expired', n: 30 }]);
        expect([await reserved(v), await reserved(w)]).toEqual([0, 0]);
        const reservations = await db.query<{ status: string; n: number }>(
            `select status, count(*)::int as n from public.inventory_reservations where variant_id in ($1, $2) group by status`,
            [v, w],
        );
        expect(reservations).toEqual([{ status: 'expired', n: 40 }]);
        // Together the runs counted each overdue order once.
        expect(due!.n).toBeGreaterThanOrEqual(30);
        expect(summaries.reduce((sum, s) => sum + s.expired_orders!, 0)).toBe(due!.n);
        const [again] = await db.asService((q) => q<{ r: { expired_orders: number } }>('select public.expire_reservations($1) as r', [at(0)]));
        expect(again!.r.expired_orders).toBe(0);
    });
});
