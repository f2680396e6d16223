// Resource embedding: every cardinality, hints, !inner, spread, empty embeds, embedded
// filters/order/limit, embedding through views, and the relationship errors.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

describe('cardinalities', () => {
    it('many-to-one embeds an object', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,customers(name)').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customers: { name: 'Alice' } },
            { id: 2, customers: { name: 'Alice' } },
            { id: 3, customers: { name: 'Bob' } },
            { id: 4, customers: { name: 'Carol' } },
        ]);
    });

    it('many-to-one embeds null when the foreign key is null', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,shipping:addresses!shipping(city)').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, shipping: { city: 'Porto' } },
            { id: 2, shipping: { city: 'Lisbon' } },
            { id: 3, shipping: { city: 'Berlin' } },
            { id: 4, shipping: null },
        ]);
    });

    it('an embedded resource can be aliased', async () => {
        const { data } = await rest.anonClient().from('orders').select('id,buyer:customers(name,tier)').eq('id', 3);
        expect(data).toEqual([{ id: 3, buyer: { name: 'Bob', tier: 'silver' } }]);
    });

    it('one-to-many embeds an array, empty when there are no children', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id)')
            .order('id')
            .order('id', { referencedTable: 'orders' });
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Alice', orders: [{ id: 1 }, { id: 2 }] },
            { name: 'Bob', orders: [{ id: 3 }] },
            { name: 'Carol', orders: [{ id: 4 }] },
            { name: 'Dave', orders: [] },
            { name: 'Eve, Jr.', orders: [] },
        ]);
    });

    it('* next to an embed keeps every column', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('*, orders(*)').eq('id', 2);
        expect(error).toBeNull();
        expect(data).toEqual([
            {
                id: 2,
                name: 'Bob',
                email: 'bob@example.com',
                tier: 'silver',
                nickname: null,
                tags: ['new'],
                meta: { color: 'blue', rank: 1 },
                created_at: '2024-02-01T10:00:00+00:00',
                orders: [
                    {
                        id: 3,
                        customer_id: 2,
                        billing_address_id: 3,
                        shipping_address_id: 3,
                        status: 'pending',
                        total: 99.99,
                        placed_at: '2024-06-03T12:00:00+00:00',
                        note: null,
                    },
                ],
            },
        ]);
    });

    it('!left is the default join', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,orders!left(id)').in('id', [3, 4]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 3, orders: [{ id: 4 }] },
            { id: 4, orders: [] },
        ]);
    });

    it('one-to-one embeds an object (or null) in both directions', async () => {
        const forward = await rest.anonClient().from('customers').select('id,customer_profiles(bio)').order('id');
        expect(forward.error).toBeNull();
        expect(forward.data).toEqual([
            { id: 1, customer_profiles: { bio: 'Loves tea' } },
            { id: 2, customer_profiles: null },
            { id: 3, customer_profiles: { bio: 'Collector' } },
            { id: 4, customer_profiles: null },
            { id: 5, customer_profiles: null },
        ]);
        const back = await rest.anonClient().from('customer_profiles').select('bio,customers(name)').order('customer_id');
        expect(back.data).toEqual([
            { bio: 'Loves tea', customers: { name: 'Alice' } },
            { bio: 'Collector', customers: { name: 'Carol' } },
        ]);
    });

    it('many-to-many embeds through the junction table', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('orders')
            .select('id,products(name)')
            .order('id')
            .order('name', { referencedTable: 'products' });
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, products: [{ name: 'Green Tea' }, { name: 'Teapot' }] },
            { id: 2, products: [{ name: 'Coffee Beans' }] },
            { id: 3, products: [{ name: 'Black Tea' }] },
            { id: 4, products: [{ name: 'Green Tea' }] },
        ]);
    });

    it('many-to-many works from the other side', async () => {
        const { data } = await rest.anonClient().from('products').select('name,orders(id)').eq('id', 1).order('id', { referencedTable: 'orders' });
        expect(data).toEqual([{ name: 'Green Tea', orders: [{ id: 1 }, { id: 4 }] }]);
    });

    it('the junction table itself embeds as one-to-many, with its generated column', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('orders')
            .select('id,order_items(product_id,quantity,line_total)')
            .eq('id', 1)
            .order('product_id', { referencedTable: 'order_items' });
        expect(error).toBeNull();
        expect(data).toEqual([
            {
                id: 1,
                order_items: [
                    { product_id: 1, quantity: 2, line_total: 9 },
                    { product_id: 4, quantity: 1, line_total: 21.5 },
                ],
            },
        ]);
    });

    it('embeds nest several levels deep, with order per level', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id,order_items(quantity,products(name)))')
            .eq('id', 1)
            .order('id', { referencedTable: 'orders' })
            .order('product_id', { referencedTable: 'orders.order_items' });
        expect(error).toBeNull();
        expect(data).toEqual([
            {
                name: 'Alice',
                orders: [
                    {
                        id: 1,
                        order_items: [
                            { quantity: 2, products: { name: 'Green Tea' } },
                            { quantity: 1, products: { name: 'Teapot' } },
                        ],
                    },
                    { id: 2, order_items: [{ quantity: 1, products: { name: 'Coffee Beans' } }] },
                ],
            },
        ]);
    });

    it('a self-referencing table embeds its children (one-to-many) without a hint', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('employees')
            .select('name,employees(name)')
            .eq('id', 1)
            .order('name', { referencedTable: 'employees' });
        expect(error).toBeNull();
        expect(data).toEqual([{ name: 'Ana', employees: [{ name: 'Ben' }, { name: 'Cid' }] }]);
    });

    it('a view inherits the relationships of its base table, both ways', async () => {
        const fromView = await rest.anonClient().from('order_summaries').select('id,customers(name)').order('id').limit(3);
        expect(fromView.error).toBeNull();
        expect(fromView.data).toEqual([
            { id: 1, customers: { name: 'Alice' } },
            { id: 2, customers: { name: 'Alice' } },
            { id: 3, customers: { name: 'Bob' } },
        ]);
        const toView = await rest.anonClient().from('customers').select('name,order_summaries(id,total)').eq('id', 2);
        expect(toView.error).toBeNull();
        expect(toView.data).toEqual([{ name: 'Bob', order_summaries: [{ id: 3, total: 99.99 }] }]);
    });
});

describe('computed relationships', () => {
    it('a set-returning function marked rows 1 embeds one object (or null), not an array', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,latest_order(id,status)').in('id', [1, 4]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, latest_order: { id: 2, status: 'shipped' } },
            { id: 4, latest_order: null },
        ]);
    });

    it('a recursive to-one computed relationship gives the parent, a to-many one the children', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('employees')
            .select('name,manager(name),reports(name)')
            .in('id', [1, 2])
            .order('id')
            .order('name', { referencedTable: 'reports' });
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Ana', manager: null, reports: [{ name: 'Ben' }, { name: 'Cid' }] },
            { name: 'Ben', manager: { name: 'Ana' }, reports: [{ name: 'Dee' }] },
        ]);
    });

    it('a to-one computed relationship can be filtered with !inner and spread', async () => {
        const { data, error } = await rest.anonClient().from('employees').select('name,...manager!inner(boss:name)').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Ben', boss: 'Ana' },
            { name: 'Cid', boss: 'Ana' },
            { name: 'Dee', boss: 'Ben' },
        ]);
    });
});

describe('embedding by foreign key column', () => {
    it('the foreign key column names the many-to-one embed, under its own name', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,customer_id(name)').order('id').limit(2);
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customer_id: { name: 'Alice' } },
            { id: 2, customer_id: { name: 'Alice' } },
        ]);
    });

    it('aliased, the column value and the embed come side by side', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,customer_id,customer:customer_id(id,name)').eq('id', 3);
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 3, customer_id: 2, customer: { id: 2, name: 'Bob' } }]);
    });

    it('the column of a self-reference embeds the parent row', async () => {
        const { data, error } = await rest.anonClient().from('employees').select('name,boss:manager_id(name)').in('id', [1, 4]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Ana', boss: null },
            { name: 'Dee', boss: { name: 'Ben' } },
        ]);
    });

    it('one of two foreign keys to the same table, by its column', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,billing_address_id(city),shipping_address_id(city)').eq('id', 1);
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 1, billing_address_id: { city: 'Lisbon' }, shipping_address_id: { city: 'Porto' } }]);
    });
});

describe('disambiguation', () => {
    it('two foreign keys to the same table are ambiguous: 300 PGRST201', async () => {
        const { data, error, status } = await rest.anonClient().from('orders').select('id,addresses(city)');
        expect(status).toBe(300);
        expect(data).toBeNull();
        expect(error!.code).toBe('PGRST201');
        expect(error!.message).toBe("Could not embed because more than one relationship was found for 'orders' and 'addresses'");
        const details = error!.details as unknown as Array<Record<string, string>>;
        expect([...details].sort((a, b) => a.relationship!.localeCompare(b.relationship!))).toEqual([
            {
                cardinality: 'many-to-one',
                embedding: 'orders with addresses',
                relationship: 'billing using orders(billing_address_id) and addresses(id)',
            },
            {
                cardinality: 'many-to-one',
                embedding: 'orders with addresses',
                relationship: 'shipping using orders(shipping_address_id) and addresses(id)',
            },
        ]);
        expect([
            "Try changing 'addresses' to one of the following: 'addresses!billing', 'addresses!shipping'. Find the desired relationship in the 'details' key.",
            "Try changing 'addresses' to one of the following: 'addresses!shipping', 'addresses!billing'. Find the desired relationship in the 'details' key.",
        ]).toContain(error!.hint);
    });

    it('the ambiguity error carries Proxy-Status', async () => {
        const res = await rest.raw('/orders?select=id,addresses(city)');
        expect(res.status).toBe(300);
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST201');
    });

    it('a foreign key constraint name as hint picks the relationship', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('orders')
            .select('id,billing:addresses!billing(city),shipping:addresses!shipping(city)')
            .order('id')
            .limit(2);
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, billing: { city: 'Lisbon' }, shipping: { city: 'Porto' } },
            { id: 2, billing: { city: 'Lisbon' }, shipping: { city: 'Lisbon' } },
        ]);
    });

    it('a foreign key column as hint picks the relationship', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,addresses!shipping_address_id(city)').eq('id', 1);
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 1, addresses: { city: 'Porto' } }]);
    });

    it('a self-reference with its constraint name as hint embeds the children', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('employees')
            .select('name,team:employees!employees_manager_id_fkey(name)')
            .eq('id', 1)
            .order('name', { referencedTable: 'team' });
        expect(error).toBeNull();
        expect(data).toEqual([{ name: 'Ana', team: [{ name: 'Ben' }, { name: 'Cid' }] }]);
    });

    it('a hint that matches nothing on a self-reference: 400 PGRST200, no suggestion of the table itself', async () => {
        const { error, status } = await rest.anonClient().from('employees').select('name,employees!employees_boss_fkey(name)');
        expect(status).toBe(400);
        expect(error).toEqual({
            code: 'PGRST200',
            message: "Could not find a relationship between 'employees' and 'employees' in the schema cache",
            details: "Searched for a foreign key relationship between 'employees' and 'employees' using the hint 'employees_boss_fkey' in the schema 'public', but no matches were found.",
            hint: null,
        });
    });

    it('hints disambiguate the one-to-many direction too', async () => {
        const { data, error } = await rest.anonClient().from('addresses').select('city,orders!shipping(id)').eq('id', 2);
        expect(error).toBeNull();
        expect(data).toEqual([{ city: 'Porto', orders: [{ id: 1 }] }]);
    });
});

describe('join types, empty embeds and spread', () => {
    it('a filter on a left-joined embed leaves parents in place and nulls the embed', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,customers(name)').eq('customers.tier', 'gold').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customers: { name: 'Alice' } },
            { id: 2, customers: { name: 'Alice' } },
            { id: 3, customers: null },
            { id: 4, customers: { name: 'Carol' } },
        ]);
    });

    it('!inner drops parents whose embed does not match', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('orders')
            .select('id,customers!inner(name)')
            .eq('customers.tier', 'gold')
            .order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customers: { name: 'Alice' } },
            { id: 2, customers: { name: 'Alice' } },
            { id: 4, customers: { name: 'Carol' } },
        ]);
    });

    it('a filter on a one-to-many embed filters the children only', async () => {
        const { data } = await rest.anonClient().from('customers').select('name,orders(id)').eq('orders.status', 'paid').order('id');
        expect(data).toEqual([
            { name: 'Alice', orders: [{ id: 1 }] },
            { name: 'Bob', orders: [] },
            { name: 'Carol', orders: [] },
            { name: 'Dave', orders: [] },
            { name: 'Eve, Jr.', orders: [] },
        ]);
    });

    it('!inner on one-to-many keeps only parents with matching children', async () => {
        const { data } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders!inner(id)')
            .in('orders.status', ['paid', 'pending'])
            .order('id');
        expect(data).toEqual([
            { name: 'Alice', orders: [{ id: 1 }] },
            { name: 'Bob', orders: [{ id: 3 }] },
        ]);
    });

    it('an empty embed filters without adding a key', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,customers!inner()').eq('customers.name', 'Bob');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 3 }]);
    });

    it('is.null on an embed keeps parents without children, not.is.null those with', async () => {
        const without = await rest.anonClient().from('customers').select('name,orders()').is('orders', null).order('id');
        expect(without.error).toBeNull();
        expect(without.data).toEqual([{ name: 'Dave' }, { name: 'Eve, Jr.' }]);
        const withOrders = await rest.anonClient().from('customers').select('name,orders()').not('orders', 'is', null).order('id');
        expect(withOrders.data).toEqual([{ name: 'Alice' }, { name: 'Bob' }, { name: 'Carol' }]);
    });

    it('spread ... flattens a many-to-one embed into the parent', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('id,...customers(customer_name:name,tier)').order('id').limit(3);
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customer_name: 'Alice', tier: 'gold' },
            { id: 2, customer_name: 'Alice', tier: 'gold' },
            { id: 3, customer_name: 'Bob', tier: 'silver' },
        ]);
    });

    it('spread on a one-to-many embed gives arrays per column (v13+)', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,...orders(order_ids:id)')
            .eq('id', 1)
            .order('id', { referencedTable: 'orders' });
        expect(error).toBeNull();
        expect(data).toEqual([{ name: 'Alice', order_ids: [1, 2] }]);
    });
});

describe('embedded modifiers (referencedTable)', () => {
    it('order and limit apply per parent', async () => {
        const { data } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id)')
            .eq('id', 1)
            .order('id', { referencedTable: 'orders', ascending: false })
            .limit(1, { referencedTable: 'orders' });
        expect(data).toEqual([{ name: 'Alice', orders: [{ id: 2 }] }]);
    });

    it('range applies offset and limit to the embed', async () => {
        const { data } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id)')
            .eq('id', 1)
            .order('id', { referencedTable: 'orders' })
            .range(1, 1, { referencedTable: 'orders' });
        expect(data).toEqual([{ name: 'Alice', orders: [{ id: 2 }] }]);
    });

    it('or applies inside the embed', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id,status)')
            .eq('id', 1)
            .or('status.eq.shipped,total.gt.50', { referencedTable: 'orders' });
        expect(error).toBeNull();
        expect(data).toEqual([{ name: 'Alice', orders: [{ id: 2, status: 'shipped' }] }]);
    });

    it('or on an !inner embed filters the parents', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders!inner(id)')
            .or('status.eq.paid,status.eq.pending', { referencedTable: 'orders' })
            .order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Alice', orders: [{ id: 1 }] },
            { name: 'Bob', orders: [{ id: 3 }] },
        ]);
    });

    it('filters apply at any embed depth', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('name,orders(id,order_items(quantity))')
            .eq('id', 1)
            .gt('orders.order_items.quantity', 1)
            .order('id', { referencedTable: 'orders' });
        expect(error).toBeNull();
        expect(data).toEqual([
            {
                name: 'Alice',
                orders: [
                    { id: 1, order_items: [{ quantity: 2 }] },
                    { id: 2, order_items: [] },
                ],
            },
        ]);
    });

    it('orders the parent by a many-to-one related column', async () => {
        const res = await rest.raw('/orders?select=id,customers(name)&order=customers(name).desc,id.asc');
        expect(res.status).toBe(200);
        const rows = (await res.json()) as Array<{ id: number }>;
        expect(rows.map((r) => r.id)).toEqual([4, 3, 1, 2]);
    });
});

describe('relationship errors', () => {
    it('no relationship: 400 PGRST200 with details', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('name,tags(label)');
        expect(status).toBe(400);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: 'PGRST200',
            message: "Could not find a relationship between 'customers' and 'tags' in the schema cache",
            details: "Searched for a foreign key relationship between 'customers' and 'tags' in the schema 'public', but no matches were found.",
            hint: null,
        });
    });

    it('a misspelt embed gets a "Perhaps you meant" hint', async () => {
        const { error, status } = await rest.anonClient().from('orders').select('id,customer(name)');
        expect(status).toBe(400);
        expect(error).toEqual({
            code: 'PGRST200',
            message: "Could not find a relationship between 'orders' and 'customer' in the schema cache",
            details: "Searched for a foreign key relationship between 'orders' and 'customer' in the schema 'public', but no matches were found.",
            hint: "Perhaps you meant 'customers' instead of 'customer'.",
        });
    });

    it('an unknown hint names the hint in the details', async () => {
        const { error, status } = await rest.anonClient().from('orders').select('id,addresses!nope(city)');
        expect(status).toBe(400);
        expect(error!.code).toBe('PGRST200');
        expect(error!.message).toBe("Could not find a relationship between 'orders' and 'addresses' in the schema cache");
        expect(error!.details).toBe(
            "Searched for a foreign key relationship between 'orders' and 'addresses' using the hint 'nope' in the schema 'public', but no matches were found.",
        );
    });

    it('filtering an embed that is not selected: 400 PGRST108', async () => {
        const { error, status } = await rest.anonClient().from('customers').select('id').eq('orders.id', 1);
        expect(status).toBe(400);
        expect(error).toEqual({
            code: 'PGRST108',
            message: "'orders' is not an embedded resource in this request",
            details: null,
            hint: "Verify that 'orders' is included in the 'select' query parameter.",
        });
    });

    it('an embed filtered with anything but is null: 400 PGRST120', async () => {
        const res = await rest.raw('/customers?select=name,orders(id)&orders=eq.1');
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST120');
    });

    it('ordering by a to-many embed: 400 PGRST118', async () => {
        const res = await rest.raw('/customers?select=name,orders(id)&order=orders(id)');
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST118');
    });
});
