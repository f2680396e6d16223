-- Local development data; loaded by `npm run db:reset` and by `npm start` after a reset.
--
-- A small shop: two categories, four products (one retired) with variants, prices,
-- costs and stock; one admin and two customers; orders in several states, made
-- through the SQL API as the users themselves would make them.
--
-- Local sign-ins (never use these anywhere else):
--   admin@tillbase.local / tillbase-admin   (staff role admin; MFA not enrolled)
--   ada@example.com      / tillbase-customer
--   grace@example.com    / tillbase-customer

-- ----------------------------------------------------------------------------
-- Users, as Supabase Auth writes them (bcrypt passwords, an email identity each)
-- ----------------------------------------------------------------------------

insert into auth.users (
    instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
    raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
    confirmation_token, recovery_token, email_change_token_new, email_change
)
select
    '00000000-0000-0000-0000-000000000000', u.id::uuid, 'authenticated', 'authenticated', u.email,
    extensions.crypt(u.password, extensions.gen_salt('bf', 10)), now(),
    '{"provider": "email", "providers": ["email"]}'::jsonb, jsonb_build_object('full_name', u.full_name),
    now(), now(), '', '', '', ''
from (values
    ('a0000000-0000-4000-8000-000000000001', 'admin@tillbase.local', 'tillbase-admin', 'Alex Admin'),
    ('c0000000-0000-4000-8000-00000000000a', 'ada@example.com', 'tillbase-customer', 'Ada Lovelace'),
    ('c0000000-0000-4000-8000-00000000000b', 'grace@example.com', 'tillbase-customer', 'Grace Hopper')
) as u (id, email, password, full_name);

insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id, jsonb_build_object('sub', u.id, 'email', u.email, 'email_verified', false, 'phone_verified', false),
       'email', now(), now(), now()
from auth.users u
where u.id in ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-00000000000b');

insert into public.staff (user_id, role) values ('a0000000-0000-4000-8000-000000000001', 'admin');

update public.profiles
set shipping_address = '{"line1": "12 St James''s Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}'
where id = 'c0000000-0000-4000-8000-00000000000a';

-- ----------------------------------------------------------------------------
-- Catalog
-- ----------------------------------------------------------------------------

insert into public.categories (id, slug, name) values
    ('10000000-0000-4000-8000-000000000001', 'apparel', 'Apparel'),
    ('10000000-0000-4000-8000-000000000002', 'home', 'Home');

insert into public.products (id, slug, name, description, category_id, active) values
    ('20000000-0000-4000-8000-000000000001', 'merino-tee', 'Merino Tee', 'A light merino wool t-shirt.', '10000000-0000-4000-8000-000000000001', true),
    ('20000000-0000-4000-8000-000000000002', 'canvas-tote', 'Canvas Tote', 'Heavy cotton canvas, reinforced handles.', '10000000-0000-4000-8000-000000000001', true),
    ('20000000-0000-4000-8000-000000000003', 'stoneware-mug', 'Stoneware Mug', 'Hand-glazed, 350 ml.', '10000000-0000-4000-8000-000000000002', true),
    ('20000000-0000-4000-8000-000000000004', 'linen-apron', 'Linen Apron', 'Retired: no longer sold.', '10000000-0000-4000-8000-000000000002', false);

insert into public.product_variants (id, product_id, sku, name, options, price_amount, currency) values
    ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001', 'TEE-MER-S', 'Small', '{"size": "S"}', 4500, 'EUR'),
    ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000001', 'TEE-MER-M', 'Medium', '{"size": "M"}', 4500, 'EUR'),
    ('30000000-0000-4000-8000-000000000003', '20000000-0000-4000-8000-000000000001', 'TEE-MER-L', 'Large', '{"size": "L"}', 4500, 'EUR'),
    ('30000000-0000-4000-8000-000000000004', '20000000-0000-4000-8000-000000000002', 'TOTE-NAT', 'Natural', '{"colour": "natural"}', 2200, 'EUR'),
    ('30000000-0000-4000-8000-000000000005', '20000000-0000-4000-8000-000000000003', 'MUG-SAGE', 'Sage', '{"colour": "sage"}', 1800, 'EUR'),
    ('30000000-0000-4000-8000-000000000006', '20000000-0000-4000-8000-000000000003', 'MUG-RUST', 'Rust', '{"colour": "rust"}', 1800, 'EUR'),
    ('30000000-0000-4000-8000-000000000007', '20000000-0000-4000-8000-000000000004', 'APRON-LIN', 'Linen', '{}', 3900, 'EUR');

-- Images: keys in the product-images bucket. The files are supabase/storage/product-images,
-- uploaded at start by [storage.buckets.product-images] objects_path (docs/storage.md).
update public.products p
set image_path = i.image_path
from (values
    ('merino-tee', 'merino-tee/front.png'),
    ('canvas-tote', 'canvas-tote/front.png'),
    ('stoneware-mug', 'stoneware-mug/front.png')
) as i (slug, image_path)
where p.slug = i.slug;

update public.product_variants set image_path = 'merino-tee/medium.png' where sku = 'TEE-MER-M';

insert into public.variant_costs (variant_id, cost_amount, currency)
select v.id, v.price_amount * 2 / 5, v.currency from public.product_variants v;

-- ----------------------------------------------------------------------------
-- Stock and orders, through the SQL API as the admin and the customers
-- ----------------------------------------------------------------------------

do $$
declare
    v_admin jsonb := '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "email": "admin@tillbase.local", "user_role": "admin", "aal": "aal2"}';
    v_ada jsonb := '{"sub": "c0000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "ada@example.com", "aal": "aal1"}';
    v_grace jsonb := '{"sub": "c0000000-0000-4000-8000-00000000000b", "role": "authenticated", "email": "grace@example.com", "aal": "aal1"}';
    v_stock record;
    v_order public.orders;
    v_cart uuid;
    v_now bigint := extract(epoch from now())::bigint;
begin
    -- Goods received into the warehouse (the ledger records each receipt).
    perform set_config('request.jwt.claims', v_admin::text, true);
    for v_stock in
        select * from (values ('TEE-MER-S', 12), ('TEE-MER-M', 20), ('TEE-MER-L', 8), ('TOTE-NAT', 30),
                              ('MUG-SAGE', 3), ('MUG-RUST', 0), ('APRON-LIN', 5)) as s (sku, quantity)
        where s.quantity > 0
    loop
        perform public.adjust_inventory((select id from public.product_variants where sku = v_stock.sku),
                                        v_stock.quantity, 'opening stock', 'receipt');
    end loop;
    -- MUG-RUST has a level row at zero: listed, out of stock.
    insert into public.inventory_levels (variant_id) values ('30000000-0000-4000-8000-000000000006');

    -- Ada: an order paid by card and shipped.
    perform set_config('request.jwt.claims', v_ada::text, true);
    insert into public.carts (user_id) values ('c0000000-0000-4000-8000-00000000000a') returning id into v_cart;
    insert into public.cart_items (cart_id, variant_id, quantity) values
        (v_cart, '30000000-0000-4000-8000-000000000002', 2),
        (v_cart, '30000000-0000-4000-8000-000000000005', 1);
    v_order := public.place_order('seed-ada-1', p_cart_id => v_cart,
        p_shipping_address => '{"line1": "12 St James''s Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}');
    perform public.attach_payment(v_order.id, p_payment_intent_id => 'pi_seedAda0000000000000001');
    perform public.apply_stripe_event(jsonb_build_object(
        'id', 'evt_seedAda0000000000000001', 'object', 'event', 'type', 'payment_intent.succeeded',
        'created', v_now, 'livemode', false, 'api_version', '2024-06-20',
        'data', jsonb_build_object('object', jsonb_build_object(
            'id', 'pi_seedAda0000000000000001', 'object', 'payment_intent', 'status', 'succeeded',
            'amount', v_order.total_amount, 'amount_received', v_order.total_amount, 'currency', lower(v_order.currency),
            'metadata', jsonb_build_object('order_id', v_order.id)))));
    perform set_config('request.jwt.claims', v_admin::text, true);
    perform public.set_fulfillment_status(v_order.id, 'shipped', 'TRACK-1Z999AA10123456784');

    -- Ada: an order waiting for payment (its stock is reserved).
    perform set_config('request.jwt.claims', v_ada::text, true);
    perform public.place_order('seed-ada-2',
        p_items => '[{"variant_id": "30000000-0000-4000-8000-000000000004", "quantity": 1}]');

    -- Grace: a paid order, not yet picked.
    perform set_config('request.jwt.claims', v_grace::text, true);
    v_order := public.place_order('seed-grace-1',
        p_items => '[{"variant_id": "30000000-0000-4000-8000-000000000001", "quantity": 1}, {"variant_id": "30000000-0000-4000-8000-000000000004", "quantity": 2}]');
    perform public.attach_payment(v_order.id, p_payment_intent_id => 'pi_seedGrace00000000000001');
    perform public.apply_stripe_event(jsonb_build_object(
        'id', 'evt_seedGrace00000000000001', 'object', 'event', 'type', 'payment_intent.succeeded',
        'created', v_now, 'livemode', false, 'api_version', '2024-06-20',
        'data', jsonb_build_object('object', jsonb_build_object(
            'id', 'pi_seedGrace00000000000001', 'object', 'payment_intent', 'status', 'succeeded',
            'amount', v_order.total_amount, 'amount_received', v_order.total_amount, 'currency', lower(v_order.currency),
            'metadata', jsonb_build_object('order_id', v_order.id)))));

    -- Grace: an order placed two hours ago and never paid; the expiry job released it.
    -- Only the service role's clock may differ from now() (customers' p_now is ignored).
    perform set_config('request.jwt.claims', (v_grace || '{"role": "service_role"}')::text, true);
    perform public.place_order('seed-grace-2',
        p_items => '[{"variant_id": "30000000-0000-4000-8000-000000000003", "quantity": 1}]',
        p_now => now() - interval '2 hours');
    perform public.expire_reservations(now());
    perform set_config('request.jwt.claims', v_grace::text, true);

    -- Grace: an order she canceled herself.
    v_order := public.place_order('seed-grace-3',
        p_items => '[{"variant_id": "30000000-0000-4000-8000-000000000005", "quantity": 1}]');
    perform public.cancel_order(v_order.id);

    perform set_config('request.jwt.claims', '', true);
end;
$$;
