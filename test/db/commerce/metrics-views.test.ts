// The shop's business metrics: the views of the `metrics` schema count what they say, are
// exported as Prometheus gauges by the stack's SQL collector, and stay out of reach of
// the API roles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPgPool } from '../../../stack/db/connect.js';
import { collectSqlMetrics } from '../../../stack/metrics/sql-views.js';
import { createShop, placeOrder } from '../../harness/commerce-shop.js';
import { useTestDatabase } from '../../harness/db.js';
import { parseExposition, sampleValue } from '../../harness/prometheus.js';

const db = useTestDatabase();
let pool: pg.Pool;

beforeAll(async () => {
    pool = createPgPool({ connectionString: db.url, max: 2 });
    const outbox = (topic: string, status: string, key: string, age = '0 seconds') =>
        db.query(
            `insert into private.outbox (topic, aggregate_type, idempotency_key, status, locked_until, created_at)
             values ($1, 'order', $2, $3::private.outbox_status, case when $3 = 'processing' then now() + interval '1 minute' end, now() - $4::interval)`,
            [topic, key, status, age],
        );
    await outbox('metrics_test.alpha', 'pending', 'a1', '90 seconds');
    await outbox('metrics_test.alpha', 'pending', 'a2');
    await outbox('metrics_test.alpha', 'processing', 'a3');
    await outbox('metrics_test.alpha', 'dead', 'a4');
    await outbox('metrics_test.alpha', 'done', 'a5');
    await outbox('metrics_test.beta', 'done', 'b1');
    const event = (id: string, status: string, age: string) =>
        db.query(
            `insert into private.stripe_events (id, type, created, payload, status, received_at) values ($1, 'payment_intent.succeeded', now(), '{}', $2, now() - $3::interval)`,
            [id, status, age],
        );
    await event('evt_metrics_received', 'received', '60 seconds');
    await event('evt_metrics_applied', 'applied', '600 seconds');
});

afterAll(async () => {
    await pool?.end();
});

describe('metrics views', () => {
    it('metrics.outbox counts pending, in-flight and dead messages per topic, with the age of the oldest pending one', async () => {
        const rows = await db.query<{ topic: string; pending: string; in_flight: string; dead: string; oldest_pending_age_seconds: string }>(
            `select * from metrics.outbox where topic like 'metrics_test.%' order by topic`,
        );
        expect(rows).toHaveLength(1); // beta has only done messages
        expect(rows[0]).toMatchObject({ topic: 'metrics_test.alpha', pending: '2', in_flight: '1', dead: '1' });
        expect(Number(rows[0]!.oldest_pending_age_seconds)).toBeGreaterThanOrEqual(90);
    });

    it('metrics.stripe_events counts events received but not processed', async () => {
        const [row] = await db.query<{ unprocessed: string; oldest_unprocessed_age_seconds: string }>('select * from metrics.stripe_events');
        expect(row!.unprocessed).toBe('1');
        expect(Number(row!.oldest_unprocessed_age_seconds)).toBeGreaterThanOrEqual(60);
        expect(Number(row!.oldest_unprocessed_age_seconds)).toBeLessThan(600);
    });

    it('metrics.orders_awaiting_payment counts unpaid orders and their total per currency', async () => {
        const shop = await createShop(db);
        const customer = await db.createUser();
        const order = await placeOrder(db, customer, [{ variant_id: shop.variants[0]!.id, quantity: 2 }]);
        const [row] = await db.query<{ currency: string; orders: string; amount_minor: string }>(`select * from metrics.orders_awaiting_payment where currency = 'EUR'`);
        expect(row).toMatchObject({ orders: '1', amount_minor: order.total_amount });
    });

    it('are exported as gauges: numeric columns as values, text columns as labels', async () => {
        const result = await collectSqlMetrics(pool, 2_000);
        expect(result.failures).toEqual([]);
        const families = parseExposition(result.text);
        expect(families.get('db_outbox_pending')).toMatchObject({ type: 'gauge' });
        expect(sampleValue(families, 'db_outbox_pending', { topic: 'metrics_test.alpha' })).toBe(2);
        expect(sampleValue(families, 'db_outbox_in_flight', { topic: 'metrics_test.alpha' })).toBe(1);
        expect(sampleValue(families, 'db_outbox_dead', { topic: 'metrics_test.alpha' })).toBe(1);
        expect(sampleValue(families, 'db_stripe_events_unprocessed')).toBe(1);
        expect(sampleValue(families, 'db_orders_awaiting_payment_orders', { currency: 'EUR' })).toBeGreaterThanOrEqual(1);
    });

    it('a view slower than the timeout costs only its own samples', async () => {
        await db.query('create view metrics.too_slow as select 1 as value from pg_sleep(3)');
        try {
            const result = await collectSqlMetrics(pool, 300);
            expect(result.failures.map((f) => f.view)).toEqual(['too_slow']);
            expect(result.failures[0]!.error.message).toMatch(/statement timeout|timeout/);
            const families = parseExposition(result.text);
            expect(families.has('db_too_slow_value')).toBe(false);
            expect(sampleValue(families, 'db_outbox_pending', { topic: 'metrics_test.alpha' })).toBe(2);
        } finally {
            await db.query('drop view metrics.too_slow');
        }
    });

    it('cannot be read by anon, authenticated or service_role', async () => {
        const user = await db.createUser();
        const attempts = [
            () => db.asAnon((q) => q('select * from metrics.outbox')),
            () => db.asUser(user, (q) => q('select * from metrics.orders_awaiting_payment')),
            () => db.asService((q) => q('select * from metrics.stripe_events')),
        ];
        for (const attempt of attempts) await expect(attempt()).rejects.toMatchObject({ code: '42501' });
    });
});
