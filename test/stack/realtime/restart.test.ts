// Reconnection: supabase-js clients come back after the stack (gateway + realtime)
// restarts, and the change stream resumes after Postgres restarts without losing what
// was committed while it was down. The slot is dropped when the service stops.
import { createClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startThrowawayCluster } from '../../../stack/db/cluster.js';
import { withClient } from '../../../stack/db/connect.js';
import { applyPlatform } from '../../../stack/db/platform.js';
import { slotNameFor } from '../../../stack/realtime/change-stream.js';
import { useTestDatabase } from '../../harness/db.js';
import { Inbox, startRealtimeGateway, subscribed, useRealtime } from '../../harness/realtime.js';

interface Change {
    eventType: string;
    new: Record<string, unknown>;
}

describe('realtime after restarts', () => {
    const db = useTestDatabase();
    const rt = useRealtime(db);

    it('clients rejoin after the stack restarts and receive changes again; the stopped service left no slot', async () => {
        await db.query(`create table public.pings (id int primary key); grant select on public.pings to anon;
                        alter publication supabase_realtime add table public.pings;`);
        const channel = rt.client().channel('pings');
        const inbox = new Inbox<Change>();
        channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'pings' }, inbox.push);
        await subscribed(channel);
        await db.query('insert into public.pings values (1)');
        await inbox.count(1);

        await rt.stop();
        expect(await db.query('select slot_name from pg_replication_slots where database = current_database()')).toEqual([]);
        await rt.start();
        // The client reconnects on its own and rejoins; wait until the server has the channel back.
        while (rt.service.stats().channels === 0) await new Promise((r) => setTimeout(r, 50));
        await db.query('insert into public.pings values (2)');
        await inbox.count(2);
        expect(inbox.items.map((c) => c.new.id)).toEqual([1, 2]);
    });

    it('the change stream reconnects after Postgres restarts and delivers what was committed meanwhile, once, in order', async () => {
        const { cluster, dispose } = await startThrowawayCluster('tillbase-realtime-restart');
        let running: Awaited<ReturnType<typeof startRealtimeGateway>> | undefined;
        try {
            await applyPlatform(cluster.url());
            await withClient(cluster.url(), (c) =>
                c.query(`create table public.pings (id int primary key); grant select on public.pings to anon;
                         alter publication supabase_realtime add table public.pings;`),
            );
            running = await startRealtimeGateway(cluster.url(), undefined);
            const client = createClient(`http://127.0.0.1:${running.listening.port}`, rt.keys.anon, {
                auth: { persistSession: false },
                realtime: { transport: WebSocket as never },
            });
            const channel = client.channel('pings');
            const inbox = new Inbox<Change>();
            channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'pings' }, inbox.push);
            await subscribed(channel);
            await withClient(cluster.url(), (c) => c.query('insert into public.pings values (1)'));
            await inbox.count(1);

            await cluster.stop();
            await cluster.start();
            // Committed while the service is still reconnecting: kept by the slot.
            await withClient(cluster.url(), (c) => c.query('insert into public.pings values (2); insert into public.pings values (3)'));
            await inbox.count(3, 20_000);
            expect(inbox.items.map((c) => c.new.id)).toEqual([1, 2, 3]);
            expect(running.service.stats().stream.lastError).toBeUndefined();
            await client.removeAllChannels();
            await running.service.close();
            await running.listening.close();
            running = undefined;
            const slots = await withClient(cluster.url(), (c) => c.query('select slot_name from pg_replication_slots'));
            expect(slots.rows).toEqual([]);
            expect(slotNameFor('postgres')).toBe('tillbase_realtime_postgres');
        } finally {
            await running?.service.close().catch(() => {});
            await running?.listening.close().catch(() => {});
            await dispose();
        }
    }, 90_000);
});
