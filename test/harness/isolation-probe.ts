// Shared body of the two isolation test files: each writes its own marker in its own
// database and records it in the cluster's `postgres` database; neither may ever see the
// other's marker in its own database.
import { expect, inject } from 'vitest';
import type { TestDatabase } from './db.js';
import { createPgClient } from '../../stack/db/connect.js';

export async function probeIsolation(db: TestDatabase, marker: string): Promise<void> {
    await db.query('create table if not exists public.isolation_probe (marker text primary key)');
    await db.query('insert into public.isolation_probe values ($1)', [marker]);

    const cluster = createPgClient(inject('clusterUrl'));
    await cluster.connect();
    try {
        await cluster.query('create table if not exists public.isolation_registry (marker text primary key, database text not null)');
        await cluster.query('insert into public.isolation_registry values ($1, $2) on conflict (marker) do update set database = $2', [
            marker,
            db.name,
        ]);
        // Give the sibling file (running in another worker) a bounded chance to register too.
        let others: Array<{ marker: string; database: string }> = [];
        for (let i = 0; i < 100 && others.length === 0; i++) {
            others = (await cluster.query('select * from public.isolation_registry where marker <> $1', [marker])).rows;
            if (others.length === 0) await new Promise((r) => setTimeout(r, 50));
        }
        const mine = await db.query<{ marker: string }>('select marker from public.isolation_probe');
        expect(mine.map((r) => r.marker)).toEqual([marker]);
        for (const other of others) expect(other.database).not.toBe(db.name);
    } finally {
        await cluster.end();
    }
}
