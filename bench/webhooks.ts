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
import { descendants, programName } from '../test/harness/processes.js';
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

/** Orders awaiting payment, each with a PaymentIntent attached (two per customer: shops limit unpaid orders per customer). */
async function pendingOrders(pool: pg.Pool, count: number, variants: string[]): Promise<Array<{ id: string; total: number; paymentIntent: string }>> {
    const orders: Array<{ id: string; total: number; paymentIntent: string }> = [];
    const client = await pool.connect();
    try {
        let user = '';
        for (let i = 0; i < count; i++) {
            if (i % 2 === 0) user = (await insertAuthUser(client, { email: `bench-${randomUUID().slice(0, 12)}@bench.test`, password: null })).id;
            await client.query('begin');
            await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user, role: 'authenticated', aal: 'aal1' })]);
            const { rows } = await client.query<{ id: string; total_amount: string }>('select id, total_amount from public.place_order($1, p_items => $2::jsonb)', [
                randomUUID(),
                JSON.stringify([{ variant_id: variants[i % variants.length], quantity: 1 }]),
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

/**
 * CPU time (ms) used so far by the stack's long-lived processes: the Node stack (gateway,
 * functions supervisor) and the Deno workers. (PostgreSQL backends come and go with their
 * connections, so their CPU cannot be summed this way.) Divided by the events of a run,
 * it is the stack's cost per event whatever else the machine is doing.
 */
function stackCpu(root: number): Record<'node' | 'deno', number> {
    const ticks = (pid: number) => {
        try {
            const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
            return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second)
        } catch {
            return 0;
        }
    };
    const cpu = { node: ticks(root) * 10, deno: 0 };
    for (const [pid, command] of descendants(root)) {
        const program = programName(command);
        if (program === 'deno') cpu.deno += ticks(pid) * 10;
        else if (program.startsWith('node')) cpu.node += ticks(pid) * 10;
    }
    return cpu;
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

function report(label: string, r: Result, cpu?: Record<string, number>): void {
    const rate = r.events / r.seconds;
    const statuses = Object.entries(r.statuses)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
    console.log(
        `${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} events/s   p50 ${percentile(r.latencies, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(r.latencies, 99).toFixed(2).padStart(7)} ms   (${statuses})`,
    );
    if (cpu) {
        const per = Object.entries(cpu).map(([kind, ms]) => `${kind} ${(ms / r.events).toFixed(2)}`);
        console.log(`${''.padEnd(34)} CPU ms per event: ${per.join(', ')}`);
    }
}

async function main(): Promise<void> {
    const { dir, apiUrl, dbUrl } = await makeWorkdir();
    const stack = await startStack(dir);
    const pool = createPgPool({ connectionString: dbUrl, max: 60 });
    try {
        // 50 variants, so that paying orders does not queue on one stock row (one hot
        // product would: every capture moves its on_hand).
        const { rows } = await pool.query<{ id: string }>(
            `insert into public.product_variants (product_id, sku, name, price_amount, currency)
             select (select id from public.products where active limit 1), 'BENCH-WEBHOOK-' || g, 'Bench ' || g, 2500, 'EUR'
             from generate_series(1, 50) g returning id`,
        );
        const variants = rows.map((r) => r.id);
        await pool.query('insert into public.inventory_levels (variant_id, on_hand) select unnest($1::uuid[]), 1000000', [variants]);

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
        await drive(await sign(eventsFor(await pendingOrders(pool, 30, variants))), 10, viaGateway);

        console.log(
            `stripe-webhook on ${os.cpus().length} cores (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}), Node ${process.version}; ${EVENTS} events per run (one third pay an order)`,
        );
        const measured = async (label: string, payloads: string[], concurrency: number, send: (payload: string) => Promise<string>) => {
            const before = stackCpu(stack.child.pid!);
            const result = await drive(payloads, concurrency, send);
            const after = stackCpu(stack.child.pid!);
            report(label, result, send === viaGateway ? { node: after.node - before.node, deno: after.deno - before.deno } : undefined);
        };
        for (const concurrency of LEVELS) {
            const payloads = await sign(eventsFor(await pendingOrders(pool, Math.ceil(EVENTS / 3), variants)));
            await measured(`gateway → Deno, ${concurrency} sender${concurrency > 1 ? 's' : ''}`, payloads, concurrency, viaGateway);
        }
        for (const concurrency of LEVELS) {
            const payloads = eventsFor(await pendingOrders(pool, Math.ceil(EVENTS / 3), variants));
            await measured(`apply_stripe_event in SQL, ${concurrency} conn.`, payloads, concurrency, inSql);
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
