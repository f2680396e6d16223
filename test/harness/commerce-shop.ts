// A small shop in a test database, the actors of the commerce domain (visitor,
// customers, staff by role with and without MFA), and Stripe events built from the
// fixtures in test/fixtures/stripe.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Claims, Query, TestDatabase, TestUser } from './db.js';
import { PROJECT_ROOT } from '../../stack/paths.js';

export type StaffRole = 'support' | 'warehouse' | 'finance' | 'admin';

export interface Variant {
    id: string;
    sku: string;
    price: number;
}

export interface Shop {
    productId: string;
    /** Active variants, each with 100 on hand unless stocked otherwise. */
    variants: Variant[];
    /** A variant of an inactive product: not for sale, no stock row. */
    retired: Variant;
}

/** Catalog rows written as the superuser (setup, outside RLS). */
export async function createShop(db: TestDatabase, stock = 100): Promise<Shop> {
    const tag = randomUUID().slice(0, 8);
    const [product] = await db.query<{ id: string }>(
        `insert into public.products (slug, name) values ($1, 'Merino Tee') returning id`,
        [`tee-${tag}`],
    );
    const [retiredProduct] = await db.query<{ id: string }>(
        `insert into public.products (slug, name, active) values ($1, 'Linen Apron', false) returning id`,
        [`apron-${tag}`],
    );
    const variants: Variant[] = [];
    for (const [size, price] of [['S', 4500], ['M', 4700], ['L', 4900]] as const) {
        const [row] = await db.query<{ id: string; sku: string }>(
            `insert into public.product_variants (product_id, sku, name, options, price_amount, currency)
             values ($1, $2, $3, jsonb_build_object('size', $3::text), $4, 'EUR') returning id, sku`,
            [product!.id, `TEE-${tag}-${size}`, size, price],
        );
        await db.query(`insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)`, [row!.id, stock]);
        await db.query(`insert into public.variant_costs (variant_id, cost_amount, currency) values ($1, $2, 'EUR')`, [row!.id, price / 2]);
        variants.push({ id: row!.id, sku: row!.sku, price });
    }
    const [retired] = await db.query<{ id: string; sku: string }>(
        `insert into public.product_variants (product_id, sku, name, price_amount, currency, active)
         values ($1, $2, 'Linen', 3900, 'EUR', false) returning id, sku`,
        [retiredProduct!.id, `APRON-${tag}`],
    );
    return { productId: product!.id, variants, retired: { id: retired!.id, sku: retired!.sku, price: 3900 } };
}

export interface Staff extends TestUser {
    role: StaffRole;
    /** Claims of this staff member's token, with or without MFA. */
    token(aal?: 'aal1' | 'aal2'): Claims;
}

export async function createStaff(db: TestDatabase, role: StaffRole): Promise<Staff> {
    const user = await db.createUser({ email: `${role}-${randomUUID().slice(0, 6)}@tillbase.test` });
    await db.query(`insert into public.staff (user_id, role) values ($1, $2)`, [user.id, role]);
    return { ...user, role, token: (aal = 'aal1') => user.claims({ user_role: role, aal }) };
}

export interface Line {
    variant_id: string;
    quantity: number;
}

export interface PlacedOrder {
    id: string;
    number: string;
    total_amount: string;
    status: string;
}

/** The shop's settings (private.shop_settings); omitted fields stay as they are. */
export interface ShopSettings {
    reservation_ttl?: string;
    max_unpaid_orders?: number;
    max_quantity_per_variant?: number;
}

/** Changes the shop's settings the way the service role does (SQL on private.shop_settings). */
export async function setShopSettings(db: TestDatabase, settings: ShopSettings): Promise<void> {
    await db.asService((q) =>
        q(
            `update private.shop_settings
             set reservation_ttl = coalesce($1::interval, reservation_ttl),
                 max_unpaid_orders = coalesce($2::integer, max_unpaid_orders),
                 max_quantity_per_variant = coalesce($3::integer, max_quantity_per_variant)`,
            [settings.reservation_ttl ?? null, settings.max_unpaid_orders ?? null, settings.max_quantity_per_variant ?? null],
        ),
    );
}

export async function placeOrder(db: TestDatabase, who: TestUser | Claims, items: Line[], key = randomUUID()): Promise<PlacedOrder> {
    return db.asUser(who, async (q) => {
        const [row] = await q<PlacedOrder>(
            `select id, number, total_amount, status from public.place_order($1, p_items => $2::jsonb)`,
            [key, JSON.stringify(items)],
        );
        return row!;
    });
}

/**
 * An order placed by the backend for `who` (the service role with the customer's `sub`):
 * the only caller whose clock (`p_now`) and hold time place_order honours.
 */
export async function placeOrderAt(db: TestDatabase, who: TestUser, items: Line[], at: Date, ttl = '1 minute'): Promise<PlacedOrder & { expires_at: Date }> {
    return db.asRole('service_role', who.claims(), async (q) => {
        const [row] = await q<PlacedOrder & { expires_at: Date }>(
            `select id, number, total_amount, status, expires_at
             from public.place_order($1, p_items => $2::jsonb, p_reservation_ttl => $3::interval, p_now => $4)`,
            [randomUUID(), JSON.stringify(items), ttl, at],
        );
        return row!;
    });
}

// ----------------------------------------------------------------------------
// Stripe events from fixtures
// ----------------------------------------------------------------------------

export type StripeEventType =
    | 'payment_intent.succeeded'
    | 'payment_intent.payment_failed'
    | 'payment_intent.amount_capturable_updated'
    | 'payment_intent.canceled'
    | 'checkout.session.completed'
    | 'checkout.session.expired'
    | 'checkout.session.async_payment_succeeded'
    | 'checkout.session.async_payment_failed'
    | 'charge.refunded'
    | 'refund.updated'
    | 'charge.dispute.created'
    | 'customer.created';

export interface StripeEvent {
    id: string;
    object: 'event';
    type: string;
    created: number;
    data: { object: Record<string, unknown> & { metadata?: Record<string, string> } };
    [key: string]: unknown;
}

export interface EventOptions {
    /** Our order, put in metadata.order_id (omit to leave the fixture's). */
    orderId?: string | null;
    paymentIntent?: string;
    checkoutSession?: string;
    amount?: number;
    amountRefunded?: number;
    refundId?: string;
    stripeRefundId?: string;
    refundStatus?: string;
    created?: number;
    eventId?: string;
}

const fixtureDir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'stripe');

export function loadStripeFixture(type: StripeEventType): StripeEvent {
    return JSON.parse(fs.readFileSync(path.join(fixtureDir, `${type}.json`), 'utf8')) as StripeEvent;
}

export function stripeId(prefix: string): string {
    return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** A fixture event with fresh ids, pointed at our order and payment. */
export function stripeEvent(type: StripeEventType, options: EventOptions = {}): StripeEvent {
    const event = loadStripeFixture(type);
    const object = event.data.object;
    event.id = options.eventId ?? stripeId('evt');
    if (options.created !== undefined) event.created = options.created;
    if (options.orderId !== undefined) {
        object.metadata = { ...object.metadata, ...(options.orderId === null ? {} : { order_id: options.orderId }) };
        if (options.orderId === null) delete object.metadata.order_id;
    }
    const kind = object.object as string;
    if (kind === 'payment_intent') {
        if (options.paymentIntent) object.id = options.paymentIntent;
        if (options.amount !== undefined) {
            object.amount = options.amount;
            if (type === 'payment_intent.succeeded') object.amount_received = options.amount;
            if (type === 'payment_intent.amount_capturable_updated') object.amount_capturable = options.amount;
        }
    } else if (kind === 'checkout.session') {
        if (options.checkoutSession) object.id = options.checkoutSession;
        if (options.paymentIntent !== undefined && object.payment_intent !== null) object.payment_intent = options.paymentIntent;
        if (options.amount !== undefined) object.amount_total = object.amount_subtotal = options.amount;
    } else if (kind === 'charge' || kind === 'refund' || kind === 'dispute') {
        if (options.paymentIntent) object.payment_intent = options.paymentIntent;
        if (kind === 'charge' && options.amount !== undefined) object.amount = object.amount_captured = options.amount;
        if (kind === 'charge' && options.amountRefunded !== undefined) object.amount_refunded = options.amountRefunded;
        if (kind === 'refund') {
            if (options.amountRefunded !== undefined) object.amount = options.amountRefunded;
            object.metadata = options.refundId ? { refund_id: options.refundId } : {};
            object.id = options.stripeRefundId ?? stripeId('re');
            if (options.refundStatus) object.status = options.refundStatus;
        }
        if (kind === 'dispute') {
            object.id = stripeId('dp');
            if (options.amount !== undefined) object.amount = options.amount;
        }
    }
    return event;
}

export async function applyEvent(db: TestDatabase, event: StripeEvent): Promise<Record<string, unknown>> {
    return db.asService(async (q) => {
        const [row] = await q<{ result: Record<string, unknown> }>('select public.apply_stripe_event($1::jsonb) as result', [
            JSON.stringify(event),
        ]);
        return row!.result;
    });
}

/** An order placed by `who` and paid through a payment_intent.succeeded event. */
export async function paidOrder(db: TestDatabase, who: TestUser, items: Line[]): Promise<PlacedOrder & { paymentIntent: string }> {
    const order = await placeOrder(db, who, items);
    const paymentIntent = stripeId('pi');
    await db.asService((q) => q('select public.attach_payment($1, $2)', [order.id, paymentIntent]));
    await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent, amount: Number(order.total_amount) }));
    return { ...order, paymentIntent };
}

// ----------------------------------------------------------------------------
// Assertions about "nothing changed"
// ----------------------------------------------------------------------------

export const COMMERCE_TABLES = [
    'public.profiles', 'public.staff', 'public.categories', 'public.products', 'public.product_variants',
    'public.variant_costs', 'public.inventory_levels', 'public.inventory_reservations', 'public.inventory_movements',
    'public.carts', 'public.cart_items', 'public.orders', 'public.order_items', 'public.payments', 'public.refunds',
    'private.stripe_customers', 'private.stripe_events', 'private.outbox', 'private.erp_links', 'private.audit_log',
    'private.shop_settings',
    'public.inventory_conflicts', 'private.erp_price_observations', 'private.erp_inbound_messages', 'private.email_deliveries',
] as const;

/** One digest per commerce table, read as the superuser: equal digests, equal contents. */
export async function snapshot(db: TestDatabase): Promise<Record<string, string>> {
    const sql = COMMERCE_TABLES.map(
        (t) => `select '${t}' as t, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as d from ${t} x`,
    ).join(' union all ');
    const rows = await db.query<{ t: string; d: string }>(sql);
    return Object.fromEntries(rows.map((r) => [r.t, r.d]));
}

export async function one<T>(q: Query, sql: string, params?: unknown[]): Promise<T> {
    const rows = await q<T & Record<string, unknown>>(sql, params);
    if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}: ${sql}`);
    return rows[0]!;
}
