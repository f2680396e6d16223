// stripe-webhook throughput and latency (printed, never asserted): signed Stripe events
// POSTed through the gateway to the function on real Deno, at 1, 10 and 50 concurrent
// senders, next to the same events applied by apply_stripe_event called directly in SQL,
// in the same run. Each order gets the three events a card payment sends
// (payment_intent.created and charge.succeeded, recorded and ignored; then
// payment_intent.succeeded, which pays the order: capture, stock, outbox).
//
// Runs the real project (`npm start` on a temporary copy, free ports).
//   npm run bench:webhooks [-- --events 3000]
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import fs from 'node:fs';
import pg from 'pg';
import Stripe from 'stripe';
import { insertAuthUser } from '../stack/auth/user-rows.js';
import { createPgPool } from '../stack/db/connect.js';
import { LOCAL_STRIPE_WEBHOOK_SECRET } from '../stack/fakes/stripe/index.js';
import { makeWorkdir, startStack } from './local-stack.js';
import { percentile } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const EVENTS = option('events', 3000);
const LEVELS = [1, 10, 50];
const crypto = Stripe.createSubtleCryptoProvider();

interface Result {
    events: number;
    seconds: number;
    latencies: number[];
    statuses: Record<string, number>;
}

/** Orders awaiting payment, each with a PaymentIntent attached (three per customer: the shop's unpaid-order limit). */
async function pendingOrders(pool: pg.Pool, count: number, variantId: string): Promise<Array<{ id: string; total: number; paymentIntent: string }>> {
    const orders: Array<{ id: string; total: number; paymentIntent: string }> = [];
    const client = await pool.connect();
    try {
        let user = '';
        for (let i = 0; i < count; i++) {
            if (i % 3 === 0) user = (await insertAuthUser(client, { email: `bench-${randomUUID().slice(0, 12)}@bench.test`, password: null })).id;
            await client.query('begin');
            await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user, role: 'authenticated', aal: 'aal1' })]);
            const { rows } = await client.query<{ id: string; total_amount: string }>('select id, total_amount from public.place_order($1, p_items => $2::jsonb)', [
                randomUUID(),
                JSON.stringify([{ variant_id: variantId, quantity: 1 }]),
            ]);
            const paymentIntent = `pi_bench${randomUUID().replaceAll('-', '').slice(0, 20)}`;
            await client.query('select public.attach_payment($1, $2)', [rows[0]!.id, paymentIntent]);
            await client.query('commit');
            orders.push({ id: rows[0]!.id, total: Number(rows[0]!.total_amount), paymentIntent });
        }
    } finally {
        client.release();
    }
    return orders;
}

/** The events of a card payment for each order, as Stripe would send them. */
function eventsFor(orders: Array<{ id: string; total: number; paymentIntent: string }>): string[] {
    const created = Math.floor(Date.now() / 1000);
    const event = (type: string, object: Record<string, unknown>) =>
        JSON.stringify(
            {
                id: `evt_bench${randomUUID().replaceAll('-', '').slice(0, 20)}`,
                object: 'event',
                api_version: Stripe.API_VERSION,
                created,
                data: { object },
                livemode: false,
                pending_webhooks: 1,
                request: { id: `req_${randomUUID().slice(0, 14)}`, idempotency_key: randomUUID() },
                type,
            },
            null,
            2,
        );
    return orders.flatMap((o) => {
        const intent = { id: o.paymentIntent, object: 'payment_intent', amount: o.total, currency: 'eur', metadata: { order_id: o.id }, status: 'requires_payment_method', amount_received: 0 };
        const charge = { id: `ch_bench${o.paymentIntent.slice(8)}`, object: 'charge', amount: o.total, amount_captured: o.total, currency: 'eur', payment_intent: o.paymentIntent, metadata: { order_id: o.id }, status: 'succeeded' };
        return [
            event('payment_intent.created', intent),
            event('charge.succeeded', charge),
            event('payment_intent.succeeded', { ...intent, status: 'succeeded', amount_received: o.total, latest_charge: charge.id }),
        ];
    });
}

/** Runs `send` over the payloads with `concurrency` senders; latency per event. */
async function drive(payloads: string[], concurrency: number, send: (payload: string) => Promise<string>): Promise<Result> {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let next = 0;
    const started = performance.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < payloads.length; i = next++) {
                const t0 = performance.now();
                const status = await send(payloads[i]!);
                latencies.push(performance.now() - t0);
                statuses[status] = (statuses[status] ?? 0) + 1;
            }
        }),
    );
    return { events: payloads.length, seconds: (performance.now() - started) / 1000, latencies, statuses };
}

function report(label: string, r: Result): void {
    const rate = r.events / r.seconds;
    const statuses = Object.entries(r.statuses)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
    console.log(
        `${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} events/s   p50 ${percentile(r.latencies, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(r.latencies, 99).toFixed(2).padStart(7)} ms   (${statuses})`,
    );
}

async function main(): Promise<void> {
    const { dir, apiUrl, dbUrl } = await makeWorkdir();
    const stack = await startStack(dir);
    const pool = createPgPool({ connectionString: dbUrl, max: 60 });
    try {
        const { rows } = await pool.query<{ id: string }>(
            `insert into public.product_variants (product_id, sku, name, price_amount, currency)
             values ((select id from public.products where active limit 1), 'BENCH-WEBHOOK', 'Bench', 2500, 'EUR') returning id`,
        );
        const variantId = rows[0]!.id;
        await pool.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, 1000000)', [variantId]);

        // Signed before the clock starts (a signature stays valid for 300 s), as Stripe signs before sending.
        const signatures = new Map<string, string>();
        const sign = async (payloads: string[]) => {
            for (const payload of payloads) {
                signatures.set(payload, await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: LOCAL_STRIPE_WEBHOOK_SECRET, cryptoProvider: crypto }));
            }
            return payloads;
        };
        const viaGateway = async (payload: string) => {
            const signature = signatures.get(payload)!;
            const response = await fetch(`${apiUrl}/functions/v1/stripe-webhook`, {
                method: 'POST',
                headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
                body: payload,
            });
            const body = (await response.json()) as { status?: string; code?: string };
            return `${response.status} ${body.status ?? body.code}`;
        };
        const inSql = async (payload: string) => {
            const result = await pool.query<{ r: { status: string } }>('select public.apply_stripe_event($1::jsonb) as r', [payload]);
            return result.rows[0]!.r.status;
        };

        // Warm-up: the Deno worker starts, the pools fill.
        await drive(await sign(eventsFor(await pendingOrders(pool, 30, variantId))), 10, viaGateway);

        console.log(
            `stripe-webhook on ${os.cpus().length} cores (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}), Node ${process.version}; ${EVENTS} events per run (one third pay an order)`,
        );
        for (const concurrency of LEVELS) {
            const payloads = await sign(eventsFor(await pendingOrders(pool, Math.ceil(EVENTS / 3), variantId)));
            report(`gateway → Deno, ${concurrency} sender${concurrency > 1 ? 's' : ''}`, await drive(payloads, concurrency, viaGateway));
        }
        for (const concurrency of LEVELS) {
            const payloads = eventsFor(await pendingOrders(pool, Math.ceil(EVENTS / 3), variantId));
            report(`apply_stripe_event in SQL, ${concurrency} conn.`, await drive(payloads, concurrency, inSql));
        }
    } finally {
        await pool.end();
        await stack.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
