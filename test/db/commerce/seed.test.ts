// supabase/seed.sql loads on the migrated schema and leaves a believable shop: an admin
// who can sign in, two customers, stock, and orders in several states.
import bcrypt from 'bcryptjs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSqlFile } from '../../../stack/db/script.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { useTestDatabase } from '../../harness/db.js';
import { createPgClient } from '../../../stack/db/connect.js';

const db = useTestDatabase();

beforeAll(async () => {
    const client = createPgClient(db.url);
    await client.connect();
    try {
        await runSqlFile(client, path.join(PROJECT_ROOT, 'supabase', 'seed.sql'));
    } finally {
        await client.end();
    }
});

describe('seed', () => {
    it('has an admin with the documented local password and two customers', async () => {
        const users = await db.query<{ email: string; encrypted_password: string; role: string | null }>(
            `select u.email, u.encrypted_password, s.role from auth.users u left join public.staff s on s.user_id = u.id order by u.email`,
        );
        expect(users.map((u) => [u.email, u.role])).toEqual([
            ['ada@example.com', null],
            ['admin@tillbase.local', 'admin'],
            ['grace@example.com', null],
        ]);
        expect(await bcrypt.compare('tillbase-admin', users[1]!.encrypted_password)).toBe(true);
        expect(await bcrypt.compare('tillbase-customer', users[0]!.encrypted_password)).toBe(true);
    });

    it('has orders in different states whose stock and payments add up', async () => {
        const orders = await db.query<{ status: string; payment_status: string }>(
            'select status, payment_status from public.orders order by number',
        );
        expect(orders).toEqual([
            { status: 'fulfilled', payment_status: 'captured' },
            { status: 'pending_payment', payment_status: 'unpaid' },
            { status: 'paid', payment_status: 'captured' },
            { status: 'expired', payment_status: 'unpaid' },
            { status: 'canceled', payment_status: 'unpaid' },
        ]);
        const [stock] = await db.query<{ reserved: number; active: number }>(
            `select (select sum(reserved)::int from public.inventory_levels) as reserved,
                    (select sum(quantity)::int from public.inventory_reservations where status = 'active') as active`,
        );
        expect(stock!.reserved).toBe(stock!.active);
    });

    it('shows visitors the active catalog only, with an out-of-stock variant', async () => {
        const variants = await db.asAnon((q) => q<{ sku: string; in_stock: boolean }>('select sku, in_stock from public.product_variants order by sku'));
        expect(variants.map((v) => v.sku)).not.toContain('APRON-LIN');
        expect(variants).toContainEqual({ sku: 'MUG-RUST', in_stock: false });
        expect(variants).toContainEqual({ sku: 'TEE-MER-M', in_stock: true });
    });
});
