// The harness's role helpers enforce RLS exactly as requests will: an owner policy shows
// a user only their rows, and anon nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../harness/db.js';

const db = useTestDatabase();
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
    alice = await db.createUser({ email: 'alice@example.test' });
    bob = await db.createUser({ email: 'bob@example.test' });
    await db.query(`
        create table public.notes (
            id bigint generated always as identity primary key,
            owner_id uuid not null references auth.users (id) on delete cascade,
            body text not null
        );
        alter table public.notes enable row level security;
        create policy "Users can read their own notes" on public.notes
            for select to authenticated using ((select auth.uid()) = owner_id);
        create policy "Users can write their own notes" on public.notes
            for insert to authenticated with check ((select auth.uid()) = owner_id);
    `);
    await db.query(`insert into public.notes (owner_id, body) values ($1, 'alice 1'), ($1, 'alice 2'), ($2, 'bob 1')`, [
        alice.id,
        bob.id,
    ]);
});

describe('RLS through the harness', () => {
    it('a user sees only their own rows', async () => {
        const rows = await db.asUser(alice, (q) => q<{ body: string }>('select body from public.notes order by body'));
        expect(rows.map((r) => r.body)).toEqual(['alice 1', 'alice 2']);
    });

    it('anon sees nothing', async () => {
        expect(await db.asAnon((q) => q('select * from public.notes'))).toEqual([]);
    });

    it('a user cannot insert a row owned by someone else', async () => {
        await expect(
            db.asUser(bob, (q) => q(`insert into public.notes (owner_id, body) values ($1, 'forged')`, [alice.id])),
        ).rejects.toMatchObject({ code: '42501' });
        expect(await db.query(`select 1 from public.notes where body = 'forged'`)).toHaveLength(0);
    });

    it('service_role bypasses RLS', async () => {
        expect(await db.asService((q) => q('select * from public.notes'))).toHaveLength(3);
    });
});
