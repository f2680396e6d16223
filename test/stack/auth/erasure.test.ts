// Deleting a customer who has orders through the real auth server's admin API
// (DELETE /auth/v1/admin/users/:id, as supabase-js `auth.admin.deleteUser` sends it):
// it used to answer 500 (orders.user_id is `on delete restrict`); now the trigger on
// auth.users anonymises the customer first, for hard and soft deletes alike.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, placeOrder, type Shop } from '../../harness/commerce-shop.js';
import { testUser } from '../../harness/db.js';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('product');
let shop: Shop;

beforeAll(async () => {
    shop = await createShop(auth.db);
});

/** A customer signed up through the auth server, with a pending order and a canceled one. */
async function customerWithOrders() {
    const address = email('erase');
    const { data, error } = await auth.client().auth.signUp({ email: address, password: 'erase-me-1', options: { data: { full_name: 'Erin Erasable' } } });
    expect(error).toBeNull();
    const user = testUser(data.user!.id, address);
    const pending = await placeOrder(auth.db, user, [{ variant_id: shop.variants[0]!.id, quantity: 2 }]);
    const canceled = await placeOrder(auth.db, user, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
    await auth.db.asUser(user, (q) => q('select public.cancel_order($1)', [canceled.id]));
    return { id: user.id, address, orders: [pending.id, canceled.id] };
}

async function traces(id: string, address: string) {
    const [row] = await auth.db.query<Record<string, number>>(
        `select (select count(*)::int from auth.users where id = $1 and deleted_at is null) as live_users,
                (select count(*)::int from public.profiles where id = $1) as profiles,
                (select count(*)::int from public.orders where user_id = $1) as owned_orders,
                (select count(*)::int from public.orders o where strpos(o.email, $2) > 0) as orders_with_email,
                (select count(*)::int from private.audit_log a where strpos(coalesce(a.before::text, '') || coalesce(a.after::text, ''), $2) > 0) as audit_with_email,
                (select count(*)::int from private.audit_log a where a.action = 'customer.erase' and a.entity_id = $1::text) as erasures`,
        [id, address],
    );
    return row!;
}

describe('DELETE /auth/v1/admin/users/:id for a customer with orders', () => {
    it('answers 200 and leaves the orders without owner or address, audited', async () => {
        const customer = await customerWithOrders();
        expect(await traces(customer.id, customer.address)).toMatchObject({ live_users: 1, owned_orders: 2, orders_with_email: 2, audit_with_email: 1 });

        const { error } = await auth.admin().auth.admin.deleteUser(customer.id);
        expect(error).toBeNull();
        expect(await traces(customer.id, customer.address)).toEqual({
            live_users: 0,
            profiles: 0,
            owned_orders: 0,
            orders_with_email: 0,
            audit_with_email: 0,
            erasures: 1,
        });
        expect(await auth.db.query('select status, user_id from public.orders where id = any ($1) order by status', [customer.orders])).toEqual([
            { status: 'canceled', user_id: null },
            { status: 'canceled', user_id: null },
        ]);
        expect(await auth.db.query(`select actor_role from private.audit_log where action = 'customer.erase' and entity_id = $1`, [customer.id])).toEqual([
            { actor_role: 'supabase_auth_admin' },
        ]);
        // The erased customer can no longer sign in.
        const signIn = await auth.client().auth.signInWithPassword({ email: customer.address, password: 'erase-me-1' });
        expect(signIn.error).toMatchObject({ status: 400, code: 'invalid_credentials' });
    });

    it('a soft delete (should_soft_delete) anonymises the same way', async () => {
        const customer = await customerWithOrders();
        const { error } = await auth.admin().auth.admin.deleteUser(customer.id, true);
        expect(error).toBeNull();
        expect(await traces(customer.id, customer.address)).toEqual({
            live_users: 0,
            profiles: 0,
            owned_orders: 0,
            orders_with_email: 0,
            audit_with_email: 0,
            erasures: 1,
        });
    });

    it('a user without orders is simply deleted', async () => {
        const { data } = await auth.client().auth.signUp({ email: email('browser'), password: 'browse-1' });
        const { error } = await auth.admin().auth.admin.deleteUser(data.user!.id);
        expect(error).toBeNull();
        expect(await auth.db.query('select 1 from public.profiles where id = $1', [data.user!.id])).toEqual([]);
    });

    it('an unknown user is still 404 user_not_found', async () => {
        const { error } = await auth.admin().auth.admin.deleteUser(randomUUID());
        expect(error).toMatchObject({ status: 404, code: 'user_not_found' });
    });
});
