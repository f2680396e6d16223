// The attack matrix: for every exposed table and function (and the private schema
// behind them), every actor — visitor, customer A on their own rows, customer B on
// A's rows, each staff role with and without MFA — tries every verb it must not have.
// Each case asserts the denial (a permission error, or no row touched) and that no
// commerce table changed. Each (target, verb) also has a control: the same SQL run
// by an actor who may do it (rolled back) does affect a row, so a denial is never
// an artefact of broken SQL.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type Claims, type Query, type TestUser } from '../../harness/db.js';
import {
    createShop,
    createStaff,
    paidOrder,
    placeOrder,
    snapshot,
    stripeEvent,
    type Shop,
    type Staff,
    type StaffRole,
} from '../../harness/commerce-shop.js';

const db = useTestDatabase();

const ACTORS = [
    'anon',
    'customerA',
    'customerB',
    'support',
    'support+aal2',
    'warehouse',
    'warehouse+aal2',
    'finance',
    'finance+aal2',
    'admin',
    'admin+aal2',
] as const;
type Actor = (typeof ACTORS)[number];
type Controller = Actor | 'service';

const staff = (...roles: StaffRole[]): Actor[] => roles.flatMap((r) => [r, `${r}+aal2`] as Actor[]);
const mfa = (...roles: StaffRole[]): Actor[] => roles.map((r) => `${r}+aal2` as Actor);
const everyStaff = staff('support', 'warehouse', 'finance', 'admin');

interface Context {
    shop: Shop;
    a: TestUser;
    b: TestUser;
    staff: Record<StaffRole, Staff>;
    categoryId: string;
    retiredProductId: string;
    cartId: string;
    cartItemId: string;
    paid: { id: string; total: number };
    pending: { id: string; total: number };
    orderItemId: string;
    paymentId: string;
    refundId: string;
    reservationId: string;
    movementId: string;
    processingMessageId: string;
    deadMessageId: string;
    // ERP sync and order emails
    erpDeadMessageId: string;
    emailMessageId: string;
}

let c: Context;

interface Target {
    /** What is attacked, as the test name says it. */
    name: string;
    sql: string;
    params?: (c: Context) => unknown[];
    /** Actors that may do this; every other actor is an attack case. */
    allowed: Actor[];
    /** Who runs the control (rolled back); null when nobody may, not even the service role. */
    control: Controller | null;
    /** Error codes that count as a denial (default 42501). */
    codes?: string[];
}

const tableTargets: Target[] = [
    // profiles: A's profile
    { name: 'public.profiles select', sql: 'select id from public.profiles where id = $1', params: (c) => [c.a.id], allowed: ['customerA', ...staff('support', 'admin')], control: 'customerA' },
    { name: 'public.profiles insert', sql: `insert into public.profiles (id, full_name) values ($1, 'Forged') on conflict (id) do update set full_name = excluded.full_name returning id`, params: (c) => [c.a.id], allowed: [], control: 'service' },
    { name: 'public.profiles update', sql: `update public.profiles set full_name = 'Pwned' where id = $1 returning id`, params: (c) => [c.a.id], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.profiles update email', sql: `update public.profiles set email = 'attacker@evil.test' where id = $1 returning id`, params: (c) => [c.a.id], allowed: [], control: 'service' },
    { name: 'public.profiles delete', sql: 'delete from public.profiles where id = $1 returning id', params: (c) => [c.a.id], allowed: [], control: 'service' },

    // staff: the finance member's row; B is the would-be staff member
    { name: 'public.staff select', sql: 'select user_id from public.staff where user_id = $1', params: (c) => [c.staff.finance.id], allowed: [...staff('finance', 'admin')], control: 'admin' },
    { name: 'public.staff insert', sql: `insert into public.staff (user_id, role) values ($1, 'admin') returning user_id`, params: (c) => [c.b.id], allowed: mfa('admin'), control: 'admin+aal2' },
    { name: 'public.staff insert self as admin', sql: `insert into public.staff (user_id, role) values ($1, 'admin') returning user_id`, params: (c) => [c.a.id], allowed: mfa('admin'), control: 'admin+aal2' },
    { name: 'public.staff update', sql: `update public.staff set role = 'admin' where user_id = $1 returning user_id`, params: (c) => [c.staff.finance.id], allowed: mfa('admin'), control: 'admin+aal2' },
    { name: 'public.staff delete', sql: 'delete from public.staff where user_id = $1 returning user_id', params: (c) => [c.staff.finance.id], allowed: mfa('admin'), control: 'admin+aal2' },

    // catalog: inactive rows (visitors and customers must not see them), admin-only writes
    { name: 'public.categories select inactive', sql: 'select id from public.categories where id = $1', params: (c) => [c.categoryId], allowed: everyStaff, control: 'support' },
    { name: 'public.categories insert', sql: `insert into public.categories (slug, name) values ('attack-' || md5(random()::text), 'Attack') returning id`, allowed: staff('admin'), control: 'admin' },
    { name: 'public.categories update', sql: `update public.categories set name = 'Pwned' where id = $1 returning id`, params: (c) => [c.categoryId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.categories delete', sql: 'delete from public.categories where id = $1 returning id', params: (c) => [c.categoryId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.products select inactive', sql: 'select id from public.products where id = $1', params: (c) => [c.retiredProductId], allowed: everyStaff, control: 'support' },
    { name: 'public.products insert', sql: `insert into public.products (slug, name) values ('attack-' || md5(random()::text), 'Attack') returning id`, allowed: staff('admin'), control: 'admin' },
    { name: 'public.products update', sql: `update public.products set name = 'Pwned', active = true where id = $1 returning id`, params: (c) => [c.retiredProductId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.products delete', sql: 'delete from public.products where id = $1 returning id', params: (c) => [c.retiredProductId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.product_variants select inactive', sql: 'select id from public.product_variants where id = $1', params: (c) => [c.shop.retired.id], allowed: everyStaff, control: 'warehouse' },
    { name: 'public.product_variants insert', sql: `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, 'ATTACK-' || md5(random()::text), 'Attack', 1, 'EUR') returning id`, params: (c) => [c.shop.productId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.product_variants update price', sql: 'update public.product_variants set price_amount = 1 where id = $1 returning id', params: (c) => [c.shop.variants[0]!.id], allowed: staff('admin'), control: 'admin' },
    { name: 'public.product_variants update in_stock', sql: 'update public.product_variants set in_stock = true where id = $1 returning id', params: (c) => [c.shop.retired.id], allowed: [], control: 'service' },
    { name: 'public.product_variants delete', sql: 'delete from public.product_variants where id = $1 returning id', params: (c) => [c.shop.retired.id], allowed: staff('admin'), control: 'admin' },

    // costs: staff only
    { name: 'public.variant_costs select', sql: 'select variant_id from public.variant_costs where variant_id = $1', params: (c) => [c.shop.variants[0]!.id], allowed: staff('finance', 'warehouse', 'admin'), control: 'finance' },
    { name: 'public.variant_costs insert', sql: `insert into public.variant_costs (variant_id, cost_amount, currency) values ($1, 1, 'EUR') returning variant_id`, params: (c) => [c.shop.retired.id], allowed: staff('finance', 'admin'), control: 'finance' },
    { name: 'public.variant_costs update', sql: 'update public.variant_costs set cost_amount = 1 where variant_id = $1 returning variant_id', params: (c) => [c.shop.variants[0]!.id], allowed: staff('finance', 'admin'), control: 'finance' },
    { name: 'public.variant_costs delete', sql: 'delete from public.variant_costs where variant_id = $1 returning variant_id', params: (c) => [c.shop.variants[0]!.id], allowed: staff('admin'), control: 'admin' },

    // inventory: staff read; nobody writes except through the SQL API
    { name: 'public.inventory_levels select', sql: 'select variant_id, on_hand from public.inventory_levels where variant_id = $1', params: (c) => [c.shop.variants[0]!.id], allowed: everyStaff, control: 'warehouse' },
    { name: 'public.inventory_levels insert', sql: 'insert into public.inventory_levels (variant_id, on_hand) values ($1, 999) returning variant_id', params: (c) => [c.shop.retired.id], allowed: [], control: 'service' },
    { name: 'public.inventory_levels update', sql: 'update public.inventory_levels set on_hand = 999 where variant_id = $1 returning variant_id', params: (c) => [c.shop.variants[0]!.id], allowed: [], control: 'service' },
    { name: 'public.inventory_levels delete', sql: 'delete from public.inventory_levels where variant_id = $1 returning variant_id', params: (c) => [c.shop.variants[2]!.id], allowed: [], control: 'service' },
    { name: 'public.inventory_reservations select', sql: 'select id from public.inventory_reservations where id = $1', params: (c) => [c.reservationId], allowed: staff('warehouse', 'support', 'admin'), control: 'warehouse' },
    { name: 'public.inventory_reservations insert', sql: 'insert into public.inventory_reservations (order_id, variant_id, quantity, expires_at) values ($1, $2, 1, now()) returning id', params: (c) => [c.pending.id, c.shop.retired.id], allowed: [], control: 'service' },
    { name: 'public.inventory_reservations update', sql: `update public.inventory_reservations set status = 'released' where id = $1 returning id`, params: (c) => [c.reservationId], allowed: [], control: 'service' },
    { name: 'public.inventory_reservations delete', sql: 'delete from public.inventory_reservations where id = $1 returning id', params: (c) => [c.reservationId], allowed: [], control: 'service' },
    { name: 'public.inventory_movements select', sql: 'select id from public.inventory_movements where id = $1', params: (c) => [c.movementId], allowed: staff('warehouse', 'finance', 'admin'), control: 'warehouse' },
    { name: 'public.inventory_movements insert', sql: `insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason) values ($1, 'receipt', 5, 105, 'forged') returning id`, params: (c) => [c.shop.variants[0]!.id], allowed: [], control: 'service' },
    { name: 'public.inventory_movements update', sql: 'update public.inventory_movements set quantity = 1000 where id = $1 returning id', params: (c) => [c.movementId], allowed: [], control: null },
    { name: 'public.inventory_movements delete', sql: 'delete from public.inventory_movements where id = $1 returning id', params: (c) => [c.movementId], allowed: [], control: null },

    // carts: A's open cart; owners only write, support reads
    { name: 'public.carts select', sql: 'select id from public.carts where id = $1', params: (c) => [c.cartId], allowed: ['customerA', ...staff('support', 'admin')], control: 'customerA' },
    { name: 'public.carts insert for customer A', sql: 'insert into public.carts (user_id) values ($1) returning id', params: (c) => [c.a.id], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.carts update', sql: `update public.carts set currency = 'USD' where id = $1 returning id`, params: (c) => [c.cartId], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.carts update status', sql: `update public.carts set status = 'converted' where id = $1 returning id`, params: (c) => [c.cartId], allowed: [], control: 'service' },
    { name: 'public.carts update owner', sql: 'update public.carts set user_id = $2 where id = $1 returning id', params: (c) => [c.cartId, c.b.id], allowed: [], control: 'service' },
    { name: 'public.carts delete', sql: 'delete from public.carts where id = $1 returning id', params: (c) => [c.cartId], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.cart_items select', sql: 'select id from public.cart_items where id = $1', params: (c) => [c.cartItemId], allowed: ['customerA', ...staff('support', 'admin')], control: 'customerA' },
    { name: 'public.cart_items insert', sql: 'insert into public.cart_items (cart_id, variant_id, quantity) values ($1, $2, 1) returning id', params: (c) => [c.cartId, c.shop.variants[2]!.id], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.cart_items update', sql: 'update public.cart_items set quantity = 99 where id = $1 returning id', params: (c) => [c.cartItemId], allowed: ['customerA'], control: 'customerA' },
    { name: 'public.cart_items delete', sql: 'delete from public.cart_items where id = $1 returning id', params: (c) => [c.cartItemId], allowed: ['customerA'], control: 'customerA' },

    // orders and their lines, payments, refunds: read-only through the API
    { name: 'public.orders select', sql: 'select id from public.orders where id = $1', params: (c) => [c.paid.id], allowed: ['customerA', ...everyStaff], control: 'customerA' },
    { name: 'public.orders insert', sql: `insert into public.orders (number, user_id, currency, subtotal_amount, total_amount, email, idempotency_key, expires_at) values ('FORGED-' || md5(random()::text), $1, 'EUR', 0, 0, 'forged@example.test', md5(random()::text), now()) returning id`, params: (c) => [c.a.id], allowed: [], control: 'service' },
    { name: 'public.orders update status', sql: `update public.orders set status = 'fulfilling' where id = $1 returning id`, params: (c) => [c.paid.id], allowed: [], control: 'service' },
    { name: 'public.orders update status of an unpaid order to paid', sql: `update public.orders set status = 'paid', payment_status = 'captured' where id = $1 returning id`, params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'public.orders update total', sql: 'update public.orders set total_amount = 1, subtotal_amount = 1 where id = $1 returning id', params: (c) => [c.pending.id], allowed: [], control: null },
    { name: 'public.orders update owner', sql: 'update public.orders set user_id = $2 where id = $1 returning id', params: (c) => [c.paid.id, c.b.id], allowed: [], control: null },
    { name: 'public.orders delete', sql: 'delete from public.orders where id = $1 returning id', params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'public.order_items select', sql: 'select id from public.order_items where id = $1', params: (c) => [c.orderItemId], allowed: ['customerA', ...everyStaff], control: 'customerA' },
    { name: 'public.order_items insert', sql: `insert into public.order_items (order_id, sku, name, unit_price_amount, currency, quantity, line_total_amount) values ($1, 'FORGED', 'Forged', 1, 'EUR', 1, 1) returning id`, params: (c) => [c.paid.id], allowed: [], control: 'service' },
    { name: 'public.order_items update price', sql: 'update public.order_items set unit_price_amount = 1, line_total_amount = quantity where id = $1 returning id', params: (c) => [c.orderItemId], allowed: [], control: null },
    { name: 'public.order_items delete', sql: 'delete from public.order_items where id = $1 returning id', params: (c) => [c.orderItemId], allowed: [], control: 'service' },
    { name: 'public.payments select', sql: 'select id from public.payments where id = $1', params: (c) => [c.paymentId], allowed: ['customerA', ...staff('support', 'finance', 'admin')], control: 'customerA' },
    { name: 'public.payments insert', sql: `insert into public.payments (order_id, stripe_payment_intent_id, currency, amount) values ($1, 'pi_forged' || md5(random()::text), 'EUR', $2) returning id`, params: (c) => [c.pending.id, c.pending.total], allowed: [], control: 'service' },
    { name: 'public.payments update', sql: `update public.payments set status = 'failed', amount_refunded = 0 where id = $1 returning id`, params: (c) => [c.paymentId], allowed: [], control: 'service' },
    { name: 'public.payments delete', sql: 'delete from public.payments where id = $1 returning id', params: (c) => [c.paymentId], allowed: [], control: 'service' },
    { name: 'public.refunds select', sql: 'select id from public.refunds where id = $1', params: (c) => [c.refundId], allowed: ['customerA', ...staff('support', 'finance', 'admin')], control: 'customerA' },
    { name: 'public.refunds insert', sql: `insert into public.refunds (payment_id, order_id, amount, currency, idempotency_key) values ($1, $2, 1, 'EUR', md5(random()::text)) returning id`, params: (c) => [c.paymentId, c.paid.id], allowed: [], control: 'service' },
    { name: 'public.refunds update', sql: `update public.refunds set status = 'succeeded' where id = $1 returning id`, params: (c) => [c.refundId], allowed: [], control: 'service' },
    { name: 'public.refunds delete', sql: 'delete from public.refunds where id = $1 returning id', params: (c) => [c.refundId], allowed: [], control: 'service' },
];

// The private schema: integration tables nobody reaches through the API.
const privateTargets: Target[] = [
    { name: 'private.stripe_events select', sql: 'select id from private.stripe_events', allowed: [], control: 'service' },
    { name: 'private.stripe_events insert', sql: `insert into private.stripe_events (id, type, created, payload) values ('evt_forged', 'payment_intent.succeeded', now(), '{}') returning id`, allowed: [], control: 'service' },
    { name: 'private.stripe_events update', sql: `update private.stripe_events set status = 'ignored' returning id`, allowed: [], control: 'service' },
    { name: 'private.stripe_events delete', sql: 'delete from private.stripe_events returning id', allowed: [], control: null },
    { name: 'private.outbox select', sql: 'select id from private.outbox', allowed: [], control: 'service' },
    { name: 'private.outbox insert', sql: `insert into private.outbox (topic, aggregate_type, idempotency_key) values ('email.forged', 'order', 'forged') returning id`, allowed: [], control: 'service' },
    { name: 'private.outbox update', sql: `update private.outbox set status = 'done' returning id`, allowed: [], control: 'service' },
    { name: 'private.outbox delete', sql: 'delete from private.outbox returning id', allowed: [], control: null },
    { name: 'private.stripe_customers select', sql: 'select user_id from private.stripe_customers', allowed: [], control: 'service' },
    { name: 'private.stripe_customers insert', sql: `insert into private.stripe_customers (user_id, stripe_customer_id) values ($1, 'cus_forged') returning user_id`, params: (c) => [c.b.id], allowed: [], control: 'service' },
    { name: 'private.stripe_customers update', sql: `update private.stripe_customers set stripe_customer_id = 'cus_forged' returning user_id`, allowed: [], control: null },
    { name: 'private.stripe_customers delete', sql: 'delete from private.stripe_customers returning user_id', allowed: [], control: null },
    { name: 'private.erp_links select', sql: 'select order_id from private.erp_links', allowed: [], control: 'service' },
    { name: 'private.erp_links insert', sql: `insert into private.erp_links (order_id, erp_document_id, synced_version) values ($1, 'ERP-FORGED', 1) returning order_id`, params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'private.erp_links update', sql: `update private.erp_links set erp_document_id = 'ERP-FORGED' returning order_id`, allowed: [], control: 'service' },
    { name: 'private.erp_links delete', sql: 'delete from private.erp_links returning order_id', allowed: [], control: null },
    { name: 'private.audit_log select', sql: 'select id from private.audit_log', allowed: [], control: 'service' },
    { name: 'private.audit_log insert', sql: `insert into private.audit_log (action, entity, entity_id) values ('forged', 'order', 'x') returning id`, allowed: [], control: 'service' },
    { name: 'private.audit_log update', sql: `update private.audit_log set action = 'forged' returning id`, allowed: [], control: null },
    { name: 'private.audit_log delete', sql: 'delete from private.audit_log returning id', allowed: [], control: null },
    { name: 'private.shop_settings select', sql: 'select max_unpaid_orders from private.shop_settings', allowed: [], control: 'service' },
    { name: 'private.shop_settings insert', sql: 'insert into private.shop_settings (id) values (true) on conflict (id) do update set max_unpaid_orders = 1000 returning id', allowed: [], control: null },
    { name: 'private.shop_settings update', sql: 'update private.shop_settings set max_unpaid_orders = 1000, max_quantity_per_variant = 1000 returning id', allowed: [], control: 'service' },
    { name: 'private.shop_settings delete', sql: 'delete from private.shop_settings returning id', allowed: [], control: null },
];

// ERP sync and order emails: stock conflicts (staff read), the integration tables behind
// them, and their SQL API.
const erpAndEmailTargets: Target[] = [
    { name: 'public.inventory_conflicts select', sql: 'select id from public.inventory_conflicts', allowed: staff('warehouse', 'support', 'admin'), control: 'warehouse' },
    { name: 'public.inventory_conflicts insert', sql: `insert into public.inventory_conflicts (variant_id, sku, erp_on_hand, reserved, applied_on_hand, external_ref, observed_at) values ($1, 'X', 0, 1, 1, 'forged', now()) returning id`, params: (c) => [c.shop.variants[0]!.id], allowed: [], control: 'service' },
    { name: 'public.inventory_conflicts update', sql: `update public.inventory_conflicts set status = 'resolved', resolved_at = now() returning id`, allowed: [], control: 'service' },
    { name: 'public.inventory_conflicts delete', sql: 'delete from public.inventory_conflicts returning id', allowed: [], control: null },
    { name: 'private.erp_price_observations select', sql: 'select variant_id from private.erp_price_observations', allowed: [], control: 'service' },
    { name: 'private.erp_price_observations update', sql: `update private.erp_price_observations set observed_at = now() + interval '1 year' returning variant_id`, allowed: [], control: 'service' },
    { name: 'private.erp_price_observations delete', sql: 'delete from private.erp_price_observations returning variant_id', allowed: [], control: null },
    { name: 'private.erp_inbound_messages select', sql: 'select id from private.erp_inbound_messages', allowed: [], control: 'service' },
    { name: 'private.erp_inbound_messages insert', sql: `insert into private.erp_inbound_messages (id, source, outcome) values ('forged', 'webhook', '{}') returning id`, allowed: [], control: 'service' },
    { name: 'private.erp_inbound_messages update', sql: `update private.erp_inbound_messages set outcome = '{}' returning id`, allowed: [], control: 'service' },
    { name: 'private.erp_inbound_messages delete', sql: 'delete from private.erp_inbound_messages returning id', allowed: [], control: null },
    { name: 'private.email_deliveries select', sql: 'select outbox_id from private.email_deliveries', allowed: [], control: 'service' },
    { name: 'private.email_deliveries delete', sql: 'delete from private.email_deliveries returning outbox_id', allowed: [], control: null },
    { name: 'public.apply_erp_price', sql: `select public.apply_erp_price($1, 1, 'EUR', 'forged-' || md5(random()::text), now() + interval '1 day')`, params: (c) => [c.shop.variants[0]!.sku], allowed: [], control: 'service' },
    { name: 'public.apply_erp_message', sql: `select public.apply_erp_message('forged-' || md5(random()::text), 'webhook', now() + interval '1 day', jsonb_build_object('stock', jsonb_build_array(jsonb_build_object('sku', $1::text, 'on_hand', 999))))`, params: (c) => [c.shop.variants[0]!.sku], allowed: [], control: 'service' },
    { name: 'public.dead_letter_outbox_message', sql: `select public.dead_letter_outbox_message($1, 'forged')`, params: (c) => [c.processingMessageId], allowed: [], control: 'service' },
    { name: 'public.complete_outbox_messages', sql: 'select public.complete_outbox_messages(array[$1]::bigint[])', params: (c) => [c.emailMessageId], allowed: [], control: 'service' },
    { name: 'public.list_dead_letters', sql: 'select id from public.list_dead_letters()', allowed: staff('support', 'admin'), control: 'support' },
    { name: 'public.record_email_delivery', sql: `select public.record_email_delivery($1, 'order_confirmation', 'a@b.test', 'smtp', 'forged')`, params: (c) => [c.emailMessageId], allowed: [], control: 'service' },
    { name: 'public.replay_outbox_message of an ERP message (needs aal2)', sql: 'select public.replay_outbox_message($1)', params: (c) => [c.erpDeadMessageId], allowed: mfa('admin'), control: 'admin+aal2' },
];

const functionTargets: Target[] = [
    { name: 'public.place_order from customer A\'s cart', sql: 'select (public.place_order(md5(random()::text), p_cart_id => $1)).id', params: (c) => [c.cartId], allowed: ['customerA'], control: 'customerA', codes: ['42501', 'TB003'] },
    { name: 'public.cancel_order of customer A\'s order', sql: 'select (public.cancel_order($1)).id', params: (c) => [c.pending.id], allowed: ['customerA', ...staff('support', 'admin')], control: 'customerA', codes: ['42501', 'TB003'] },
    { name: 'public.attach_payment', sql: `select (public.attach_payment($1, 'pi_forged' || md5(random()::text))).id`, params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'public.apply_stripe_event (a forged payment)', sql: 'select public.apply_stripe_event($1::jsonb)', params: (c) => [JSON.stringify(stripeEvent('payment_intent.succeeded', { orderId: c.pending.id, amount: c.pending.total }))], allowed: [], control: 'service' },
    { name: 'public.expire_reservations', sql: `select public.expire_reservations(now() + interval '1 day')`, allowed: [], control: 'service' },
    { name: 'public.set_fulfillment_status', sql: `select (public.set_fulfillment_status($1, 'picking')).id`, params: (c) => [c.paid.id], allowed: staff('warehouse', 'admin'), control: 'warehouse' },
    { name: 'public.request_refund', sql: 'select (public.request_refund($1, 100)).id', params: (c) => [c.paid.id], allowed: mfa('finance', 'admin'), control: 'finance+aal2' },
    { name: 'public.adjust_inventory', sql: `select (public.adjust_inventory($1, 5, 'forged receipt', 'receipt')).variant_id`, params: (c) => [c.shop.variants[0]!.id], allowed: staff('warehouse', 'admin'), control: 'warehouse' },
    { name: 'public.apply_erp_stock_level', sql: `select public.apply_erp_stock_level($1, 999, 'forged-' || md5(random()::text), now())`, params: (c) => [c.shop.variants[0]!.sku], allowed: [], control: 'service' },
    { name: 'public.claim_outbox_batch', sql: `select id from public.claim_outbox_batch('email.order_confirmation')`, allowed: [], control: 'service' },
    { name: 'public.complete_outbox_message', sql: 'select public.complete_outbox_message($1)', params: (c) => [c.processingMessageId], allowed: [], control: 'service' },
    { name: 'public.fail_outbox_message', sql: `select public.fail_outbox_message($1, 'forged failure')`, params: (c) => [c.processingMessageId], allowed: [], control: 'service' },
    { name: 'public.replay_outbox_message', sql: 'select public.replay_outbox_message($1)', params: (c) => [c.deadMessageId], allowed: staff('admin'), control: 'admin' },
    { name: 'public.link_stripe_customer', sql: `select public.link_stripe_customer($1, 'cus_forged')`, params: (c) => [c.b.id], allowed: [], control: 'service' },
    { name: 'public.shop_settings (read by everyone)', sql: 'select max_quantity_per_variant from public.shop_settings()', allowed: [...ACTORS], control: 'anon' },
    { name: 'public.erase_customer of customer B', sql: 'select public.erase_customer($1)', params: (c) => [c.b.id], allowed: mfa('admin'), control: 'admin+aal2' },
    { name: 'public.extend_payment_deadline', sql: `select public.extend_payment_deadline($1, now() + interval '2 hours', now() + interval '2 hours')`, params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'public.receive_stripe_event (a forged payment)', sql: 'select public.receive_stripe_event($1::jsonb)', params: (c) => [JSON.stringify(stripeEvent('payment_intent.succeeded', { orderId: c.pending.id, amount: c.pending.total }))], allowed: [], control: 'service' },
    { name: 'public.record_stripe_event_failure', sql: `select public.record_stripe_event_failure($1::jsonb, 'forged failure')`, params: () => [JSON.stringify(stripeEvent('payment_intent.succeeded'))], allowed: [], control: 'service' },
    { name: 'public.link_stripe_refund', sql: `select (public.link_stripe_refund($1, 're_forged' || md5(random()::text))).id`, params: (c) => [c.refundId], allowed: [], control: 'service' },
    { name: 'public.fail_refund', sql: `select (public.fail_refund($1, 'forged failure')).id`, params: (c) => [c.refundId], allowed: [], control: 'service' },
    { name: 'public.custom_access_token_hook', sql: `select public.custom_access_token_hook(jsonb_build_object('user_id', $1::text, 'claims', '{}'::jsonb))`, params: (c) => [c.a.id], allowed: [], control: null },
    // definer and internal functions in the private schema, called directly
    { name: 'private.create_profile_for_new_user (definer)', sql: 'select private.create_profile_for_new_user()', allowed: [], control: null },
    { name: 'private.check_order_lines (definer)', sql: 'select private.check_order_lines()', allowed: [], control: null },
    { name: 'private.audit_staff_change (definer)', sql: 'select private.audit_staff_change()', allowed: [], control: null },
    { name: 'private.erase_customer_data (definer)', sql: 'select private.erase_customer_data($1)', params: (c) => [c.a.id], allowed: [], control: null },
    { name: 'private.erase_customer_on_user_removal (definer)', sql: 'select private.erase_customer_on_user_removal()', allowed: [], control: null },
    { name: 'private.forget_unapplied_stripe_event (definer)', sql: `select private.forget_unapplied_stripe_event((public.record_stripe_event_failure($1::jsonb, 'x')) ->> 'event_id')`, params: () => [JSON.stringify(stripeEvent('payment_intent.succeeded'))], allowed: [], control: 'service' },
    { name: 'private.enqueue_outbox', sql: `select private.enqueue_outbox('email.forged', 'order', null, '{}', 'forged-key')`, allowed: [], control: 'service' },
    { name: 'private.apply_payment_state', sql: `select private.apply_payment_state($1, 'captured', now(), 'evt_forged', 'pi_forged')`, params: (c) => [c.pending.id], allowed: [], control: 'service' },
    { name: 'private.audit', sql: `select private.audit('forged', 'order', 'x')`, allowed: [], control: 'service' },
];

interface Outcome {
    rows?: unknown[];
    code?: string;
    message?: string;
}

function claimsOf(actor: Actor): Claims {
    if (actor === 'customerA') return c.a.claims();
    if (actor === 'customerB') return c.b.claims();
    const [role, aal] = actor.split('+') as [StaffRole, string | undefined];
    return c.staff[role].token(aal === 'aal2' ? 'aal2' : 'aal1');
}

async function runAs<T>(who: Controller, fn: (q: Query) => Promise<T>): Promise<T> {
    if (who === 'anon') return db.asAnon(fn);
    if (who === 'service') return db.asService(fn);
    return db.asUser(claimsOf(who), fn);
}

async function attempt(who: Actor, target: Target): Promise<Outcome> {
    try {
        return { rows: await runAs(who, (q) => q(target.sql, target.params?.(c))) };
    } catch (error) {
        const e = error as { code?: string; message: string };
        return { code: e.code, message: e.message };
    }
}

class Rollback extends Error {}

/** Runs the target as `who` and rolls back, returning the rows it produced. */
async function control(who: Controller, target: Target): Promise<unknown[]> {
    let rows: unknown[] = [];
    try {
        await runAs(who, async (q) => {
            rows = await q(target.sql, target.params?.(c));
            throw new Rollback();
        });
    } catch (error) {
        if (!(error instanceof Rollback)) throw error;
    }
    return rows;
}

beforeAll(async () => {
    const shop = await createShop(db);
    const a = await db.createUser({ email: 'customer-a@example.test' });
    const b = await db.createUser({ email: 'customer-b@example.test' });
    const roles = {
        support: await createStaff(db, 'support'),
        warehouse: await createStaff(db, 'warehouse'),
        finance: await createStaff(db, 'finance'),
        admin: await createStaff(db, 'admin'),
    };
    const [category] = await db.query<{ id: string }>(
        `insert into public.categories (slug, name, active) values ('retired-things', 'Retired things', false) returning id`,
    );
    const cart = await db.asUser(a, async (q) => {
        const [row] = await q<{ id: string }>('insert into public.carts default values returning id');
        const [item] = await q<{ id: string }>('insert into public.cart_items (cart_id, variant_id, quantity) values ($1, $2, 2) returning id', [
            row!.id,
            shop.variants[0]!.id,
        ]);
        return { id: row!.id, itemId: item!.id };
    });
    const paid = await paidOrder(db, a, [{ variant_id: shop.variants[0]!.id, quantity: 2 }]);
    const pending = await placeOrder(db, a, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
    const refund = await db.asUser(roles.admin.token('aal2'), async (q) => {
        const [row] = await q<{ id: string }>('select (public.request_refund($1, 500)).id', [paid.id]);
        return row!;
    });
    await db.asService((q) => q(`select public.link_stripe_customer($1, 'cus_RdQk3Z8aTq1bXn')`, [a.id]));
    const [processing] = await db.query<{ id: string }>(
        `insert into private.outbox (topic, aggregate_type, idempotency_key, status, attempts, locked_until)
         values ('test.attack', 'test', 'attack-processing', 'processing', 1, now() + interval '1 hour') returning id`,
    );
    const [dead] = await db.query<{ id: string }>(
        `insert into private.outbox (topic, aggregate_type, idempotency_key, status, attempts, last_error)
         values ('test.attack', 'test', 'attack-dead', 'dead', 8, 'ERP said no') returning id`,
    );
    await db.query(`insert into private.erp_links (order_id, erp_document_id, synced_version) values ($1, 'ERP-SO-0001', 1)`, [paid.id]);
    // ERP sync and order emails
    const [erpDead] = await db.query<{ id: string }>(
        `insert into private.outbox (topic, aggregate_type, aggregate_id, idempotency_key, status, attempts, last_error)
         values ('erp.order.upsert', 'order', $1, 'attack-erp-dead', 'dead', 8, 'ERP down') returning id`,
        [paid.id],
    );
    const [emailMessage] = await db.query<{ id: string }>(
        `insert into private.outbox (topic, aggregate_type, aggregate_id, idempotency_key, status, attempts, locked_until)
         values ('email.order_shipped', 'order', $1, 'attack-email', 'processing', 1, now() + interval '1 hour') returning id`,
        [paid.id],
    );
    await db.query(
        `insert into private.email_deliveries (outbox_id, idempotency_key, order_id, template, recipient, provider)
         select id, idempotency_key, aggregate_id, 'order_confirmation', 'a@example.test', 'smtp' from private.outbox
         where topic = 'email.order_confirmation' and aggregate_id = $1`,
        [paid.id],
    );
    await db.asService((q) =>
        q(`select public.apply_erp_message('attack-inbound', 'webhook', now(), jsonb_build_object(
               'stock', jsonb_build_array(jsonb_build_object('sku', $1::text, 'on_hand', 0)),
               'prices', jsonb_build_array(jsonb_build_object('sku', $2::text, 'price_amount', $3::bigint, 'currency', 'EUR'))))`,
          [shop.variants[1]!.sku, shop.variants[2]!.sku, shop.variants[2]!.price]),
    );
    const [orderItem] = await db.query<{ id: string }>('select id from public.order_items where order_id = $1', [paid.id]);
    const [payment] = await db.query<{ id: string }>('select id from public.payments where order_id = $1', [paid.id]);
    const [reservation] = await db.query<{ id: string }>('select id from public.inventory_reservations where order_id = $1', [pending.id]);
    const [movement] = await db.query<{ id: string }>('select id from public.inventory_movements where order_id = $1', [paid.id]);
    const [retiredProduct] = await db.query<{ product_id: string }>('select product_id from public.product_variants where id = $1', [
        shop.retired.id,
    ]);
    c = {
        shop,
        a,
        b,
        staff: roles,
        categoryId: category!.id,
        cartId: cart.id,
        cartItemId: cart.itemId,
        paid: { id: paid.id, total: Number(paid.total_amount) },
        pending: { id: pending.id, total: Number(pending.total_amount) },
        orderItemId: orderItem!.id,
        paymentId: payment!.id,
        refundId: refund.id,
        reservationId: reservation!.id,
        movementId: movement!.id,
        processingMessageId: processing!.id,
        deadMessageId: dead!.id,
        erpDeadMessageId: erpDead!.id,
        emailMessageId: emailMessage!.id,
        retiredProductId: retiredProduct!.product_id,
    };
});

const targets = [...tableTargets, ...privateTargets, ...functionTargets, ...erpAndEmailTargets];
const attacks = targets.flatMap((target) =>
    ACTORS.filter((actor) => !target.allowed.includes(actor)).map((actor) => ({ target, actor })),
);

describe('attack matrix', () => {
    it.each(attacks.map(({ target, actor }) => [actor, target.name, target] as const))(
        '%s cannot %s, and nothing changes',
        async (actor, _name, target) => {
            const before = await snapshot(db);
            const outcome = await attempt(actor, target);
            if (outcome.code !== undefined) {
                expect(target.codes ?? ['42501'], outcome.message).toContain(outcome.code);
            } else {
                expect(outcome.rows).toEqual([]);
            }
            expect(await snapshot(db)).toEqual(before);
        },
    );
});

describe('attack matrix controls (rolled back)', () => {
    it.each(targets.filter((t) => t.control !== null).map((t) => [t.name, t.control!, t] as const))(
        '%s works for %s, so the denials above are real',
        async (_name, who, target) => {
            const before = await snapshot(db);
            expect((await control(who, target)).length).toBeGreaterThan(0);
            expect(await snapshot(db)).toEqual(before);
        },
    );

    it('covers every table in public and private and every function in public', async () => {
        const tables = await db.query<{ name: string }>(
            `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname in ('public', 'private') and c.relkind = 'r' order by 1`,
        );
        const functions = await db.query<{ name: string }>(
            `select n.nspname || '.' || p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = 'public' order by 1`,
        );
        const named = targets.map((t) => t.name.split(' ')[0]);
        for (const { name } of [...tables, ...functions]) expect(named, name).toContain(name);
    });
});
