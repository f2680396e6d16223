// postgres_changes through the gateway with supabase-js: payload shapes, filters, RLS per
// subscriber checked as that user, commit order, token expiry, and a fuzzed load of
// 200 subscribers × 1,000 changes.
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import { accessToken, Inbox, subscribed, useRealtime } from '../../harness/realtime.js';

interface Change {
    eventType: string;
    new: Record<string, unknown>;
    old: Record<string, unknown>;
    errors: string[] | null;
    commit_timestamp: string;
    schema: string;
    table: string;
}

/** A deterministic pseudo-random sequence (the fuzz is reproducible from its seed). */
function random(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 2 ** 32;
    };
}

describe('postgres_changes', () => {
    const db = useTestDatabase();
    const rt = useRealtime(db);
    let users: TestUser[] = [];
    const tokens = new Map<string, string>();

    beforeAll(async () => {
        await db.query(`
            create table public.notes (
                id bigint primary key,
                owner uuid not null,
                kind text not null,
                score integer not null,
                body jsonb,
                created_at timestamptz not null default now()
            );
            alter table public.notes enable row level security;
            create index notes_owner_idx on public.notes (owner);
            grant select on public.notes to authenticated;
            create policy "Users can read their own notes" on public.notes for select to authenticated using (owner = (select auth.uid()));
            create table public.marks (id bigint primary key, at text);
            grant select on public.marks to anon, authenticated;
            alter publication supabase_realtime add table public.notes, public.marks;
        `);
        users = await Promise.all(Array.from({ length: 10 }, () => db.createUser()));
        for (const user of users) tokens.set(user.id, await accessToken(user.claims({ exp: Math.floor(Date.now() / 1000) + 86_400 })));
    });

    const clientFor = (user: TestUser, vsn?: '1.0.0' | '2.0.0') => rt.client({ token: tokens.get(user.id)!, vsn });

    it('sends INSERT, UPDATE and DELETE shaped as Supabase does, with typed values and the key as old record', async () => {
        const [owner] = users;
        const channel = clientFor(owner!).channel('shape');
        const inbox = new Inbox<Change>();
        const system = new Inbox<Record<string, unknown>>();
        channel.on('postgres_changes', { event: '*', schema: 'public', table: 'notes', filter: 'id=gte.900000' }, inbox.push).on('system', {}, system.push);
        await subscribed(channel);
        await system.count(1);
        expect(system.items[0]).toEqual({ extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: 'shape' });
        // One at a time: the RLS check re-reads the row (as Supabase does), and a row deleted
        // before its update was checked would hide that update.
        await db.query(`insert into public.notes (id, owner, kind, score, body) values (900001, $1, 'a', 5, '{"deep":[1]}')`, [owner!.id]);
        await inbox.count(1);
        await db.query(`update public.notes set score = 6 where id = 900001`);
        await inbox.count(2);
        await db.query(`delete from public.notes where id = 900001`);
        await inbox.count(3);
        expect(inbox.items.map((c) => c.eventType)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
        expect(inbox.items[0]).toMatchObject({
            schema: 'public',
            table: 'notes',
            errors: null,
            new: { id: 900001, owner: owner!.id, kind: 'a', score: 5, body: { deep: [1] }, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
            old: {},
        });
        expect(inbox.items[0]!.commit_timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(inbox.items[1]).toMatchObject({ new: { score: 6 }, old: { id: 900001 } });
        expect(inbox.items[2]).toMatchObject({ new: {}, old: { id: 900001 } });
        expect(Object.keys(inbox.items[2]!.old)).toEqual(['id']);
    });

    it("reports a bad filter as Realtime does, and a table that doesn't exist", async () => {
        const bad = clientFor(users[0]!).channel('bad-filter');
        const system = new Inbox<Record<string, unknown>>();
        bad.on('postgres_changes', { event: '*', schema: 'public', table: 'notes', filter: 'score=like.5' }, () => {}).on('system', {}, system.push);
        await subscribed(bad);
        const missing = clientFor(users[0]!).channel('missing-table');
        const system2 = new Inbox<Record<string, unknown>>();
        missing.on('postgres_changes', { event: '*', schema: 'public', table: 'nope' }, () => {}).on('system', {}, system2.push);
        await subscribed(missing);
        await system.count(1);
        await system2.count(1);
        expect(system.items[0]).toEqual({ extension: 'postgres_changes', status: 'error', message: 'Error parsing `filter` params: ["like", "5"]', channel: 'bad-filter' });
        expect(system2.items[0]).toMatchObject({ status: 'error', message: expect.stringMatching(/^Unable to subscribe to changes with given parameters/) });
    });

    it('200 subscribers, 1,000 changes: each gets every change it may see once, in commit order, and nothing else (fuzzed filters)', async () => {
        const rand = random(20261126);
        const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
        const kinds: readonly string[] = ['a', 'b', 'c', 'd'];
        type Sub = { user: TestUser; event: string; filter?: string; test: (row: { kind: string; score: number; id: number }) => boolean; inbox: Inbox<Change> };
        const filters: Array<() => Omit<Sub, 'user' | 'event' | 'inbox'>> = [
            () => ({ test: () => true }),
            () => {
                const k = pick(kinds);
                return { filter: `kind=eq.${k}`, test: (r) => r.kind === k };
            },
            () => {
                const k = pick(kinds);
                return { filter: `kind=neq.${k}`, test: (r) => r.kind !== k };
            },
            () => {
                const n = Math.floor(rand() * 100);
                return { filter: `score=gt.${n}`, test: (r) => r.score > n };
            },
            () => {
                const n = Math.floor(rand() * 100);
                return { filter: `score=lte.${n}`, test: (r) => r.score <= n };
            },
            () => {
                const n = Math.floor(rand() * 100);
                return { filter: `score=lt.${n}`, test: (r) => r.score < n };
            },
            () => {
                const n = Math.floor(rand() * 100);
                return { filter: `score=gte.${n}`, test: (r) => r.score >= n };
            },
            () => {
                const set = [pick(kinds), pick(kinds)];
                return { filter: `kind=in.(${set.join(',')})`, test: (r) => set.includes(r.kind) };
            },
        ];
        const subs: Sub[] = [];
        const clients: SupabaseClient[] = [];
        const marks: Inbox<Change>[] = [];
        const channels: RealtimeChannel[] = [];
        for (let c = 0; c < 20; c++) {
            const user = users[c % users.length]!;
            const client = clientFor(user, c % 2 ? '1.0.0' : '2.0.0');
            clients.push(client);
            for (let k = 0; k < 10; k++) {
                const sub: Sub = { user, event: pick(['*', 'INSERT', 'UPDATE'] as const), ...pick(filters)(), inbox: new Inbox<Change>() };
                subs.push(sub);
                const channel = client.channel(`load-${c}-${k}`);
                channel.on('postgres_changes', { event: sub.event as '*', schema: 'public', table: 'notes', ...(sub.filter ? { filter: sub.filter } : {}) }, sub.inbox.push);
                channels.push(channel);
            }
            // Commit order holds per socket: once this sentinel arrives, everything before it has.
            const mark = new Inbox<Change>();
            marks.push(mark);
            const markChannel = client.channel(`mark-${c}`);
            markChannel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'marks' }, mark.push);
            channels.push(markChannel);
        }
        await Promise.all(channels.map((channel) => subscribed(channel)));

        const rows = new Map<number, { id: number; owner: string; kind: string; score: number }>();
        const log: Array<{ type: 'INSERT' | 'UPDATE'; row: { id: number; owner: string; kind: string; score: number } }> = [];
        let nextId = 1;
        for (let i = 0; i < 1000; i++) {
            if (rows.size < 20 || rand() < 0.4) {
                const row = { id: nextId++, owner: pick(users).id, kind: pick(kinds), score: Math.floor(rand() * 100) };
                await db.query(`insert into public.notes (id, owner, kind, score) values ($1, $2, $3, $4)`, [row.id, row.owner, row.kind, row.score]);
                rows.set(row.id, row);
                log.push({ type: 'INSERT', row: { ...row } });
            } else {
                const row = rows.get(1 + Math.floor(rand() * (nextId - 1)))!;
                row.kind = pick(kinds);
                row.score = Math.floor(rand() * 100);
                await db.query(`update public.notes set kind = $2, score = $3 where id = $1`, [row.id, row.kind, row.score]);
                log.push({ type: 'UPDATE', row: { ...row } });
            }
        }
        await db.query(`insert into public.marks (id, at) values (1, 'end')`);
        await Promise.all(marks.map((m) => m.count(1, 60_000)));

        let delivered = 0;
        for (const sub of subs) {
            const expected = log
                .filter((e) => e.row.owner === sub.user.id && (sub.event === '*' || sub.event === e.type) && sub.test(e.row))
                .map((e) => `${e.type} ${e.row.id} ${e.row.kind} ${e.row.score}`);
            const received = sub.inbox.items.map((c) => `${c.eventType} ${String(c.new.id)} ${String(c.new.kind)} ${String(c.new.score)}`);
            expect(received, `subscriber ${sub.event} ${sub.filter ?? '(no filter)'}`).toEqual(expected);
            expect(sub.inbox.items.every((c) => c.new.owner === sub.user.id)).toBe(true);
            delivered += received.length;
        }
        expect(delivered).toBeGreaterThan(1000);
        await Promise.all(clients.map((c) => c.removeAllChannels()));
    }, 180_000);

    it('a token that expires mid-subscription stops delivery (the clock moves, nobody waits)', async () => {
        const [alice] = users;
        const now = Math.floor(rt.clock.now() / 1000);
        const shortToken = await accessToken(alice!.claims({ exp: now + 600 }));
        const expiring = rt.client({ token: shortToken }).channel('expiring');
        const expiringInbox = new Inbox<Change>();
        const system = new Inbox<Record<string, unknown>>();
        const closed = new Inbox<string>();
        expiring.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'notes' }, expiringInbox.push).on('system', {}, system.push);
        await new Promise<void>((resolve, reject) =>
            expiring.subscribe((status) => {
                if (status === 'SUBSCRIBED') resolve();
                else if (status === 'CLOSED') closed.push(status);
                else reject(new Error(status));
            }),
        );
        // Alice again on another socket, with a token valid for a day: the control.
        const control = rt.client({ token: await accessToken(alice!.claims({ exp: now + 86_400 })) }).channel('control');
        const controlInbox = new Inbox<Change>();
        control.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'notes' }, controlInbox.push);
        await subscribed(control);
        await db.query(`insert into public.notes (id, owner, kind, score) values (700001, $1, 'a', 1)`, [alice!.id]);
        await expiringInbox.count(1);

        rt.clock.advance(601_000);
        await system.count(2);
        expect(system.items[0]).toMatchObject({ extension: 'postgres_changes', status: 'ok' });
        expect(system.items[1]).toEqual({ extension: 'system', status: 'error', message: 'Token has expired 1 seconds ago', channel: 'expiring' });
        await closed.count(1);
        await db.query(`insert into public.notes (id, owner, kind, score) values (700002, $1, 'a', 1)`, [alice!.id]);
        await controlInbox.count(2);
        expect(expiringInbox.items.map((c) => c.new.id)).toEqual([700001]);
    });
});
