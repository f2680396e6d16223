// Realtime: change-to-delivery latency (p50/p99) and deliveries per second for 1, 50 and
// 200 postgres_changes subscribers (supabase-js over the gateway), next to the raw rate
// at which Postgres decodes the same changes from a slot (pgoutput over SQL) and our
// decoder reads them. Prints figures; asserts nothing.
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { withClient } from '../stack/db/connect.js';
import { applyPlatform } from '../stack/db/platform.js';
import { apiKeysFor } from '../stack/gateway/keys.js';
import { decodePgOutput } from '../stack/realtime/pgoutput.js';
import { startRealtimeGateway, TEST_JWT } from '../test/harness/realtime.js';
import { mean, percentile } from './stats.js';

const LATENCY_CHANGES = 100;
const BURST_CHANGES = 1000;
const RAW_CHANGES = 20_000;

const { cluster, dispose } = await startThrowawayCluster('tillbase-bench-realtime');
const url = cluster.url();
const keys = await apiKeysFor(TEST_JWT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
    await applyPlatform(url);
    await withClient(url, (c) =>
        c.query(`create table public.events (id bigint primary key, sent_ms double precision not null, note text);
                 grant select on public.events to anon;
                 alter publication supabase_realtime add table public.events;`),
    );

    // Raw decoding: Postgres decoding 20,000 committed changes from a fresh slot, then our decoder.
    const raw = await withClient(url, async (c) => {
        await c.query(`select pg_create_logical_replication_slot('bench_raw', 'pgoutput')`);
        await c.query(`insert into public.events select g, 0, 'raw' from generate_series(1000001, ${1_000_000 + RAW_CHANGES}) g`);
        await sleep(300); // let the asynchronous commit reach the WAL on disk
        const started = performance.now();
        const rows = await c.query<{ data: Buffer }>(
            `select data from pg_logical_slot_get_binary_changes('bench_raw', null, null, 'proto_version', '1', 'publication_names', 'supabase_realtime')`,
        );
        const decodedAt = performance.now();
        for (const row of rows.rows) decodePgOutput(row.data);
        const parsedAt = performance.now();
        await c.query(`select pg_drop_replication_slot('bench_raw')`);
        await c.query(`delete from public.events`);
        return { messages: rows.rows.length, postgresMs: decodedAt - started, parseMs: parsedAt - decodedAt };
    });
    console.log(`raw logical decoding: ${RAW_CHANGES} changes → ${raw.messages} pgoutput messages`);
    console.log(`  Postgres (pg_logical_slot_get_binary_changes): ${Math.round(RAW_CHANGES / (raw.postgresMs / 1000))} changes/s`);
    console.log(`  our pgoutput decoder:                         ${Math.round(raw.messages / (raw.parseMs / 1000))} messages/s`);

    const gateway = await startRealtimeGateway(url, undefined);
    const base = `http://127.0.0.1:${gateway.listening.port}`;
    let nextId = 1;
    try {
        for (const subscribers of [1, 50, 200]) {
            const clients: SupabaseClient[] = [];
            const latencies: number[] = [];
            let delivered = 0;
            const socketCount = Math.min(subscribers, 20);
            for (let i = 0; i < socketCount; i++) {
                clients.push(createClient(base, keys.anon, { auth: { persistSession: false }, realtime: { transport: WebSocket as never } }));
            }
            await Promise.all(
                Array.from({ length: subscribers }, (_, i) => {
                    const channel = clients[i % socketCount]!.channel(`bench-${subscribers}-${i}`);
                    channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'events' }, (payload) => {
                        delivered++;
                        const sent = (payload.new as { sent_ms: number; note: string }).sent_ms;
                        if ((payload.new as { note: string }).note === 'latency') latencies.push(Date.now() - sent);
                    });
                    return new Promise<void>((resolve, reject) => channel.subscribe((s) => (s === 'SUBSCRIBED' ? resolve() : s !== 'CLOSED' && reject(new Error(s)))));
                }),
            );

            // Latency: one change every 20 ms, each a separate commit.
            await withClient(url, async (c) => {
                for (let i = 0; i < LATENCY_CHANGES; i++) {
                    await c.query(`insert into public.events values ($1, $2, 'latency')`, [nextId++, Date.now()]);
                    await sleep(20);
                }
            });
            const expectLatency = LATENCY_CHANGES * subscribers;
            while (delivered < expectLatency) await sleep(5);

            // Throughput: 1,000 commits as fast as one connection makes them.
            delivered = 0;
            const started = performance.now();
            await withClient(url, async (c) => {
                for (let i = 0; i < BURST_CHANGES; i++) await c.query(`insert into public.events values ($1, $2, 'burst')`, [nextId++, Date.now()]);
            });
            const committedMs = performance.now() - started;
            while (delivered < BURST_CHANGES * subscribers) await sleep(2);
            const totalMs = performance.now() - started;
            console.log(
                `${String(subscribers).padStart(3)} subscribers: latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (mean ${mean(latencies).toFixed(1)}); ` +
                    `burst of ${BURST_CHANGES} commits (${Math.round(BURST_CHANGES / (committedMs / 1000))} commits/s) → ${Math.round((BURST_CHANGES * subscribers) / (totalMs / 1000))} deliveries/s, ` +
                    `${Math.round(BURST_CHANGES / (totalMs / 1000))} changes/s end to end`,
            );
            await Promise.all(clients.map((c) => c.removeAllChannels()));
        }
    } finally {
        await gateway.service.close();
        await gateway.listening.close();
    }
} finally {
    await dispose();
}
