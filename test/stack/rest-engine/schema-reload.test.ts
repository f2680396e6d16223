// The schema cache follows the database: `NOTIFY pgrst, 'reload schema'` (what Supabase's
// DDL event trigger sends) and reloadSchema() pick up new relationships and tables.
import { describe, expect, it } from 'vitest';
import { useEngine } from './engine-harness.js';

const engine = useEngine({ poolSize: 4 });

async function eventually(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 50; i++) {
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('condition not met within 5s');
}

describe('schema cache reload', () => {
    it('a foreign key added later becomes embeddable after NOTIFY pgrst', async () => {
        await engine.sql(`
            create table engine.reviews (id bigint primary key, item_ref bigint not null, stars int not null);
            grant select on engine.reviews to anon;
            insert into engine.reviews values (1, 1, 5), (2, 1, 4);`);
        await engine.service.reloadSchema();
        const before = await engine.request('/items?select=id,reviews(stars)&id=eq.1');
        expect(before.status).toBe(400);
        expect(((await before.json()) as { code: string }).code).toBe('PGRST200');

        await engine.sql(`
            alter table engine.reviews add constraint reviews_item_fkey foreign key (item_ref) references engine.items (id);
            notify pgrst, 'reload schema';`);
        await eventually(async () => (await engine.request('/items?select=id,reviews(stars)&id=eq.1')).status === 200);
        const after = await engine.request('/items?select=id,reviews(stars)&id=eq.1&reviews.order=stars.desc');
        expect(await after.json()).toEqual([{ id: 1, reviews: [{ stars: 5 }, { stars: 4 }] }]);
    });

    it('reloadSchema() makes a new function callable', async () => {
        await engine.sql(`
            create function engine.double_it(n integer) returns integer language sql immutable as $$ select n * 2 $$;
            grant execute on function engine.double_it(integer) to anon;`);
        await engine.service.reloadSchema();
        const response = await engine.request('/rpc/double_it?n=21');
        expect(response.status).toBe(200);
        expect(await response.json()).toBe(42);
    });
});
