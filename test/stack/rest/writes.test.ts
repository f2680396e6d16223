// Inserts (single, bulk, columns, missing=default), upserts (merge/ignore, on_conflict,
// composite keys, PUT), updates and deletes, with return=minimal/representation/headers-only.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

describe('insert', () => {
    it('without select: 201 Created, no body', async () => {
        const { data, error, status, count } = await rest.anonClient().from('tags').insert({ id: 10, label: 'green' });
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toBeNull();
        expect(count).toBeNull();
        expect(await rest.sql('select id, label from public.tags where id = 10')).toEqual([{ id: '10', label: 'green' }]);
    });

    it('with select: 201 and the row with its defaults', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').insert({ id: 10, name: 'Frank' }).select();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([
            {
                id: 10,
                name: 'Frank',
                email: null,
                tier: 'bronze',
                nickname: null,
                tags: [],
                meta: null,
                created_at: '2024-01-01T00:00:00+00:00',
            },
        ]);
    });

    it('identity columns take their next value', async () => {
        const { data } = await rest.anonClient().from('addresses').insert({ city: 'Madrid', country: 'ES' }).select('id,city');
        expect(data).toEqual([{ id: 100, city: 'Madrid' }]);
    });

    it('with select(columns) and .single(): one object', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').insert({ id: 11, name: 'Gina', tags: ['a', 'b'] }).select('id,tags').single();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual({ id: 11, tags: ['a', 'b'] });
    });

    it('bulk insert: keys missing from an object become null', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .insert([
                { id: 12, name: 'Hal', tier: 'gold' },
                { id: 13, name: 'Ivy' },
            ])
            .select('id,tier,tags');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 12, tier: 'gold', tags: [] },
            { id: 13, tier: null, tags: [] },
        ]);
    });

    it('bulk insert with defaultToNull: false (missing=default) uses column defaults', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .insert(
                [
                    { id: 14, name: 'Jon', tier: 'gold' },
                    { id: 15, name: 'Kim' },
                ],
                { defaultToNull: false },
            )
            .select('id,tier');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 14, tier: 'gold' },
            { id: 15, tier: 'bronze' },
        ]);
    });

    it('bulk insert with columns and missing=default: identity, column and domain defaults fill absent keys', async () => {
        const ok = await rest.raw('/tickets?columns=id,title,status,priority&select=id,title,status,priority', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'missing=default, return=representation' },
            body: JSON.stringify([
                { id: 1, title: 'explicit', status: 'closed', priority: 1 },
                { title: 'all defaults' },
                { title: 'some defaults', priority: 5 },
            ]),
        });
        expect(ok.status).toBe(201);
        expect(ok.headers.get('preference-applied')).toBe('missing=default, return=representation');
        expect(await ok.json()).toEqual([
            { id: 1, title: 'explicit', status: 'closed', priority: 1 },
            { id: 500, title: 'all defaults', status: 'open', priority: 3 },
            { id: 501, title: 'some defaults', status: 'open', priority: 5 },
        ]);
    });

    it('supabase-js bulk insert with defaultToNull: false takes the identity default for a missing id', async () => {
        const { data, error, status } = await rest
            .anonClient()
            .from('tickets')
            .insert([{ id: 10, title: 'first', priority: 2 }, { title: 'second' }], { defaultToNull: false })
            .select('id,title,status,priority');
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([
            { id: 10, title: 'first', status: 'open', priority: 2 },
            { id: 502, title: 'second', status: 'open', priority: 3 },
        ]);
    });

    it('columns= restricts the keys read from the body', async () => {
        const res = await rest.raw('/customers?columns=id,name&select=id,name,nickname', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
            body: JSON.stringify({ id: 16, name: 'Lou', nickname: 'ignored' }),
        });
        expect(res.status).toBe(201);
        expect(await res.json()).toEqual([{ id: 16, name: 'Lou', nickname: null }]);
    });

    it('the representation can embed related rows', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('orders')
            .insert({ id: 20, customer_id: 2, total: 1.5 })
            .select('id,status,total,customers(name)');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 20, status: 'pending', total: 1.5, customers: { name: 'Bob' } }]);
    });

    it('count: exact reports the inserted rows in Content-Range */n', async () => {
        const { count, status } = await rest
            .anonClient()
            .from('tags')
            .insert(
                [
                    { id: 20, label: 'x' },
                    { id: 21, label: 'y' },
                ],
                { count: 'exact' },
            );
        expect(status).toBe(201);
        expect(count).toBe(2);
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'count=exact' },
            body: JSON.stringify([{ id: 22, label: 'z' }]),
        });
        expect(res.status).toBe(201);
        expect(res.headers.get('content-range')).toBe('*/1');
        expect(await res.text()).toBe('');
    });

    it('without a count, Content-Range is */*', async () => {
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ id: 23, label: 'w' }),
        });
        expect(res.status).toBe(201);
        expect(res.headers.get('content-range')).toBe('*/*');
    });

    it('return=headers-only answers 201 with a Location', async () => {
        const res = await rest.raw('/addresses', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'return=headers-only' },
            body: JSON.stringify({ id: 70, city: 'Faro', country: 'PT' }),
        });
        expect(res.status).toBe(201);
        expect(res.headers.get('location')).toBe('/addresses?id=eq.70');
        expect(await res.text()).toBe('');
    });

    it('return=minimal sends no Location', async () => {
        const res = await rest.raw('/addresses', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'return=minimal' },
            body: JSON.stringify({ id: 71, city: 'Evora', country: 'PT' }),
        });
        expect(res.status).toBe(201);
        expect(res.headers.get('location')).toBeNull();
    });

    it('an empty array inserts nothing: 201 []', async () => {
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
            body: '[]',
        });
        expect(res.status).toBe(201);
        expect(await res.json()).toEqual([]);
    });

    it('the representation can include computed fields', async () => {
        const { data, error } = await rest.anonClient().from('customers').insert({ id: 17, name: 'Max', email: 'max@example.com' }).select('id,label');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 17, label: 'Max <max@example.com>' }]);
    });

    it('a text/csv body inserts one row per line', async () => {
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'text/csv', Prefer: 'return=representation' },
            body: 'id,label\n60,csv one\n61,"csv, two"',
        });
        expect(res.status).toBe(201);
        expect(await res.json()).toEqual([
            { id: 60, label: 'csv one' },
            { id: 61, label: 'csv, two' },
        ]);
    });

    it('generated columns are computed on insert', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('order_items')
            .insert({ order_id: 2, product_id: 1, quantity: 3, unit_price: 1.25 })
            .select('order_id,product_id,line_total');
        expect(error).toBeNull();
        expect(data).toEqual([{ order_id: 2, product_id: 1, line_total: 3.75 }]);
    });
});

describe('insert errors', () => {
    it('an unknown key: 400 PGRST204', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').insert({ id: 30, name: 'X', nope: 1 });
        expect(status).toBe(400);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: 'PGRST204',
            message: "Could not find the 'nope' column of 'customers' in the schema cache",
            details: null,
            hint: null,
        });
    });

    it('an unknown column in columns=: 400 PGRST204', async () => {
        const res = await rest.raw('/tags?columns=id,nope', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify([{ id: 80, nope: 1 }]),
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
            code: 'PGRST204',
            message: "Could not find the 'nope' column of 'tags' in the schema cache",
            details: null,
            hint: null,
        });
    });

    it('on_conflict without a matching unique constraint: 400 42P10', async () => {
        const { error, status } = await rest.anonClient().from('tags').upsert({ id: 81, label: 'x' }, { onConflict: 'label' });
        expect(status).toBe(400);
        expect(error!.code).toBe('42P10');
        expect(error!.message).toBe('there is no unique or exclusion constraint matching the ON CONFLICT specification');
    });

    it('a duplicate key: 409 23505', async () => {
        const { error, status } = await rest.anonClient().from('customers').insert({ id: 1, name: 'Again' });
        expect(status).toBe(409);
        expect(error).toEqual({
            code: '23505',
            message: 'duplicate key value violates unique constraint "customers_pkey"',
            details: 'Key (id)=(1) already exists.',
            hint: null,
        });
    });

    it('a missing foreign key: 409 23503', async () => {
        const { error, status } = await rest.anonClient().from('orders').insert({ id: 31, customer_id: 999 });
        expect(status).toBe(409);
        expect(error).toEqual({
            code: '23503',
            message: 'insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey"',
            details: 'Key (customer_id)=(999) is not present in table "customers".',
            hint: null,
        });
    });

    it('a not-null violation: 400 23502', async () => {
        const { error, status } = await rest.anonClient().from('customers').insert({ id: 32, email: 'x@example.com' });
        expect(status).toBe(400);
        expect(error!.code).toBe('23502');
        expect(error!.message).toBe('null value in column "name" of relation "customers" violates not-null constraint');
    });

    it('a check violation: 400 23514', async () => {
        const { error, status } = await rest.anonClient().from('order_items').insert({ order_id: 3, product_id: 1, quantity: 0, unit_price: 1 });
        expect(status).toBe(400);
        expect(error!.code).toBe('23514');
        expect(error!.message).toBe('new row for relation "order_items" violates check constraint "order_items_quantity_check"');
    });

    it('an invalid enum value: 400 22P02', async () => {
        const { error, status } = await rest.anonClient().from('customers').insert({ id: 33, name: 'Y', tier: 'platinum' });
        expect(status).toBe(400);
        expect(error!.code).toBe('22P02');
        expect(error!.message).toBe('invalid input value for enum customer_tier: "platinum"');
    });

    it('a failed bulk insert writes nothing', async () => {
        const { status } = await rest
            .anonClient()
            .from('tags')
            .insert([
                { id: 40, label: 'ok' },
                { id: 1, label: 'duplicate' },
            ]);
        expect(status).toBe(409);
        expect(await rest.sql('select id from public.tags where id = 40')).toEqual([]);
    });
});

describe('upsert', () => {
    it('merge-duplicates that only updates answers 200 OK', async () => {
        // PostgREST (v12+): 201 Created only when the upsert inserted a row.
        const { data, error, status } = await rest.anonClient().from('addresses').upsert({ id: 3, city: 'Munich', country: 'DE' }).select();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([{ id: 3, city: 'Munich', country: 'DE' }]);
        expect(await rest.sql('select city from public.addresses where id = 3')).toEqual([{ city: 'Munich' }]);
    });

    it('merge-duplicates inserts rows without a conflict: 201 when at least one row is new', async () => {
        const { data, error, status } = await rest
            .anonClient()
            .from('addresses')
            .upsert([
                { id: 2, city: 'Porto', country: 'PT' },
                { id: 50, city: 'Coimbra', country: 'PT' },
            ])
            .select()
            .order('id');
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([
            { id: 2, city: 'Porto', country: 'PT' },
            { id: 50, city: 'Coimbra', country: 'PT' },
        ]);
    });

    it('merge-duplicates without a body answers 200 when nothing was inserted, with return=minimal too', async () => {
        const res = await rest.raw('/addresses', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'resolution=merge-duplicates' },
            body: JSON.stringify({ id: 2, city: 'Porto', country: 'PT' }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('preference-applied')).toBe('resolution=merge-duplicates');
        expect(await res.text()).toBe('');
    });

    it('ignore-duplicates answers 201 even when every row already existed', async () => {
        const { data, error, status } = await rest
            .anonClient()
            .from('addresses')
            .upsert({ id: 1, city: 'Changed', country: 'PT' }, { ignoreDuplicates: true })
            .select();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([]);
    });

    it('ignore-duplicates keeps the existing row and returns only inserted ones', async () => {
        const { data, error, status } = await rest
            .anonClient()
            .from('addresses')
            .upsert(
                [
                    { id: 1, city: 'Changed', country: 'PT' },
                    { id: 51, city: 'Aveiro', country: 'PT' },
                ],
                { ignoreDuplicates: true },
            )
            .select();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([{ id: 51, city: 'Aveiro', country: 'PT' }]);
        expect(await rest.sql('select city from public.addresses where id = 1')).toEqual([{ city: 'Lisbon' }]);
    });

    it('onConflict names a unique column other than the primary key', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('products')
            .upsert({ sku: 'TEA-2', name: 'Black Tea', price: 4.1 }, { onConflict: 'sku' })
            .select('id,sku,price');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 2, sku: 'TEA-2', price: 4.1 }]);
    });

    it('a composite primary key is the default conflict target', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('order_items')
            .upsert({ order_id: 3, product_id: 2, quantity: 6, unit_price: 3.75 })
            .select('order_id,product_id,quantity,line_total');
        expect(error).toBeNull();
        expect(data).toEqual([{ order_id: 3, product_id: 2, quantity: 6, line_total: 22.5 }]);
    });

    it('onConflict with several columns', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('order_items')
            .upsert({ order_id: 4, product_id: 1, quantity: 2, unit_price: 5.25 }, { onConflict: 'order_id,product_id' })
            .select('quantity,line_total')
            .single();
        expect(error).toBeNull();
        expect(data).toEqual({ quantity: 2, line_total: 10.5 });
    });

    it('upsert only updates the columns in the payload', async () => {
        await rest.anonClient().from('customers').upsert({ id: 4, nickname: 'D', name: 'Dave' });
        expect(await rest.sql('select name, nickname, tier::text from public.customers where id = 4')).toEqual([
            { name: 'Dave', nickname: 'D', tier: 'bronze' },
        ]);
    });
});

describe('PUT (single-row upsert)', () => {
    const put = (path: string, body: unknown, prefer?: string) =>
        rest.raw(path, {
            method: 'PUT',
            headers: { 'Content-Type': 'application/json', ...(prefer ? { Prefer: prefer } : {}) },
            body: JSON.stringify(body),
        });

    it('inserts then replaces the row named by its primary key: 201 when inserted, 200 when replaced', async () => {
        const first = await put('/addresses?id=eq.60', { id: 60, city: 'Braga', country: 'PT' }, 'return=representation');
        expect(first.status).toBe(201);
        expect(await first.json()).toEqual([{ id: 60, city: 'Braga', country: 'PT' }]);
        const second = await put('/addresses?id=eq.60', { id: 60, city: 'Guimaraes', country: 'PT' }, 'return=representation');
        expect(second.status).toBe(200);
        expect(await second.json()).toEqual([{ id: 60, city: 'Guimaraes', country: 'PT' }]);
        const third = await put('/addresses?id=eq.60', { id: 60, city: 'Viana', country: 'PT' });
        expect(third.status).toBe(204);
        expect(await rest.sql('select city from public.addresses where id = 60')).toEqual([{ city: 'Viana' }]);
    });

    it('a body key that contradicts the URL: 400 PGRST115', async () => {
        const res = await put('/addresses?id=eq.61', { id: 62, city: 'Leiria', country: 'PT' });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST115');
    });

    it('without the primary key filter: 405 PGRST105', async () => {
        const res = await put('/addresses?city=eq.Braga', { id: 60, city: 'Braga', country: 'PT' });
        expect(res.status).toBe(405);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST105');
    });

    it('with a limit: 400 PGRST114', async () => {
        const res = await put('/addresses?id=eq.60&limit=1', { id: 60, city: 'Braga', country: 'PT' });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST114');
    });
});

describe('update', () => {
    it('without select: 204 No Content', async () => {
        const { data, error, status } = await rest.anonClient().from('employees').update({ name: 'Ana Maria' }).eq('id', 1);
        expect(error).toBeNull();
        expect(status).toBe(204);
        expect(data).toBeNull();
        expect(await rest.sql('select name from public.employees where id = 1')).toEqual([{ name: 'Ana Maria' }]);
    });

    it('with select: 200 and the updated rows', async () => {
        const { data, error, status } = await rest.anonClient().from('employees').update({ manager_id: 3 }).eq('id', 4).select();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([{ id: 4, name: 'Dee', manager_id: 3 }]);
    });

    it('update().select().single() gives the object', async () => {
        const { data, error, status } = await rest.anonClient().from('employees').update({ name: 'Dee' }).eq('id', 4).select('id,name').single();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual({ id: 4, name: 'Dee' });
    });

    it('count: exact counts the updated rows (Content-Range 0-(n-1)/n)', async () => {
        const { count, status } = await rest.anonClient().from('employees').update({ manager_id: 1 }, { count: 'exact' }).in('id', [2, 3]);
        expect(status).toBe(204);
        expect(count).toBe(2);
        const res = await rest.raw('/employees?id=in.(2,3)', {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json', Prefer: 'count=exact' },
            body: JSON.stringify({ manager_id: 1 }),
        });
        expect(res.status).toBe(204);
        expect(res.headers.get('content-range')).toBe('0-1/2');
    });

    it('no matching row: 204, or 200 [] with select', async () => {
        const minimal = await rest.anonClient().from('employees').update({ name: 'Nobody' }).eq('id', 999);
        expect(minimal.status).toBe(204);
        const full = await rest.anonClient().from('employees').update({ name: 'Nobody' }).eq('id', 999).select();
        expect(full.status).toBe(200);
        expect(full.data).toEqual([]);
    });

    it('updates through an auto-updatable view', async () => {
        const { data, error, status } = await rest.anonClient().from('order_summaries').update({ total: 31 }).eq('id', 1).select();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([{ id: 1, customer_id: 1, status: 'paid', total: 31 }]);
        expect(await rest.sql('select total::text from public.orders where id = 1')).toEqual([{ total: '31.00' }]);
    });

    it('updates jsonb and array columns', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .update({ meta: { color: 'black', list: [1, 2] }, tags: ['x', 'y, z'] })
            .eq('id', 13)
            .select('meta,tags');
        expect(error).toBeNull();
        expect(data).toEqual([{ meta: { color: 'black', list: [1, 2] }, tags: ['x', 'y, z'] }]);
    });

    it('an unknown column in the body: 400 PGRST204', async () => {
        const { error, status } = await rest.anonClient().from('employees').update({ nope: 1 }).eq('id', 1);
        expect(status).toBe(400);
        expect(error).toEqual({
            code: 'PGRST204',
            message: "Could not find the 'nope' column of 'employees' in the schema cache",
            details: null,
            hint: null,
        });
    });
});

describe('delete', () => {
    it('without select: 204', async () => {
        const { data, error, status } = await rest.anonClient().from('tags').delete().eq('id', 20);
        expect(error).toBeNull();
        expect(status).toBe(204);
        expect(data).toBeNull();
        expect(await rest.sql('select id from public.tags where id = 20')).toEqual([]);
    });

    it('with select: 200 and the deleted rows', async () => {
        const { data, status } = await rest.anonClient().from('tags').delete().eq('id', 21).select();
        expect(status).toBe(200);
        expect(data).toEqual([{ id: 21, label: 'y' }]);
    });

    it('deletes by a composite key', async () => {
        await rest.sql('insert into public.order_items (order_id, product_id, quantity, unit_price) values (2, 2, 1, 1)');
        const { data, error } = await rest.anonClient().from('order_items').delete().match({ order_id: 2, product_id: 2 }).select('order_id,product_id');
        expect(error).toBeNull();
        expect(data).toEqual([{ order_id: 2, product_id: 2 }]);
    });

    it('count: exact counts the deleted rows', async () => {
        await rest.sql(`insert into public.tags (id, label) values (90, 'del'), (91, 'del'), (92, 'del')`);
        const { count, status } = await rest.anonClient().from('tags').delete({ count: 'exact' }).eq('label', 'del');
        expect(status).toBe(204);
        expect(count).toBe(3);
    });

    it('a foreign key still referencing the row: 409 23503', async () => {
        const { error, status } = await rest.anonClient().from('customers').delete().eq('id', 2);
        expect(status).toBe(409);
        expect(error!.code).toBe('23503');
        expect(error!.message).toBe('update or delete on table "customers" violates foreign key constraint "orders_customer_id_fkey" on table "orders"');
        expect(error!.details).toBe('Key (id)=(2) is still referenced from table "orders".');
    });
});
