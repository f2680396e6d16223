// Staff helpers. Nothing here grants anything: every call runs as the signed-in staff
// member, and RLS, the SQL API and the functions decide by the `user_role` claim (and the
// session's aal for money and replays) — a customer calling them gets `forbidden`.
//
// - orders.search: every order staff may read (support, warehouse, finance, admin);
// - fulfil: `set_fulfillment_status` (warehouse, admin);
// - refund: the `refund` function (finance, admin, aal2);
// - inventory.adjust: `adjust_inventory` through the ledger (warehouse, admin);
// - outbox: the dead letters (`list_dead_letters`: admin, support) and `replay_outbox_message`
//   (admin; aal2 for erp.* and stripe.* messages).
import type { z } from 'zod';
import type { Database, Enums, Tables } from '../database.types.ts';
import type { Context } from './context.ts';
import { ListDeadLettersInput, ReplayDeadLetterInput, type DeadLetter, type ReplayDeadLetterResult } from './contract/outbox.ts';
import { RefundRequest, type RefundReason, type RefundResponse } from './contract/refund.ts';
import { AdjustInventoryInput, FulfilRequest, type AdjustmentKind, type FulfilmentStep } from './contract/staff.ts';
import type { OrderSummary } from './orders.ts';
import type { TillbaseRequest } from './result.ts';
import { parseWith } from './validate.ts';
import { toWire, type CamelKeys } from './wire.ts';

// The contract's enums must be values of the schema's: a step or kind the database does
// not know fails to compile here.
type Within<Sub extends Super, Super> = Sub;
type _FulfilmentStepsAreSchemaValues = Within<FulfilmentStep, Enums<'fulfillment_status'>>;
type _AdjustmentKindsAreSchemaValues = Within<AdjustmentKind, Enums<'movement_kind'>>;

export type StaffOrder = OrderSummary & Pick<Tables<'orders'>, 'email' | 'user_id' | 'erp_status' | 'tracking_number' | 'updated_at'>;

/** Filters of `staff.orders.search`; a status filter takes one value or several. */
export interface OrderSearch {
    status?: Enums<'order_status'> | Enums<'order_status'>[];
    paymentStatus?: Enums<'payment_status'> | Enums<'payment_status'>[];
    fulfillmentStatus?: Enums<'fulfillment_status'> | Enums<'fulfillment_status'>[];
    /** The exact order number, e.g. `TB-000123`. */
    number?: string;
    /** Part of the order's email address (case-insensitive). */
    email?: string;
    /** Orders created at or after this instant (ISO 8601). */
    createdFrom?: string;
    /** Orders created before this instant (ISO 8601). */
    createdBefore?: string;
    /** 1–200, default 50. */
    limit?: number;
    offset?: number;
}

export interface StaffOrderPage {
    orders: StaffOrder[];
    total: number;
}

export type InventoryAdjustment = CamelKeys<AdjustInventoryInput>;
export type InventoryLevel = Pick<Tables<'inventory_levels'>, 'variant_id' | 'on_hand' | 'reserved'>;
export type DeadLetterQuery = CamelKeys<z.input<typeof ListDeadLettersInput>, 'p_'>;

export interface StaffApi {
    orders: {
        /** Orders staff may read, newest first, with the total count. */
        search(filters?: OrderSearch): TillbaseRequest<StaffOrderPage>;
    };
    /** Moves fulfilment forward (`shipped` with a tracking number sends the customer's mail). */
    fulfil(orderId: string, status: FulfilmentStep, tracking?: string): TillbaseRequest<StaffOrder>;
    /**
     * Refunds `amount` minor units of a paid order through Stripe (the `refund` function; aal2).
     * With `idempotencyKey`, a retry of the same refund (same order, amount and reason) returns the first one instead of refunding twice.
     */
    refund(orderId: string, amount: number, reason?: RefundReason, options?: { idempotencyKey?: string }): TillbaseRequest<RefundResponse>;
    inventory: {
        /** Records a receipt, return or adjustment in the stock ledger; the level after it. */
        adjust(adjustment: InventoryAdjustment): TillbaseRequest<InventoryLevel>;
    };
    outbox: {
        /** Dead-lettered outbox messages, newest first (page with `beforeId`). */
        deadLetters(query?: DeadLetterQuery): TillbaseRequest<DeadLetter[]>;
        /** Sends a dead message back to the queue. */
        replay(id: number): TillbaseRequest<ReplayDeadLetterResult>;
    };
}

const STAFF_ORDER_COLUMNS =
    'id, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at, email, user_id, erp_status, tracking_number, updated_at';

type FulfilmentArgs = Database['public']['Functions']['set_fulfillment_status']['Args'];

const list = <T>(value: T | T[] | undefined): T[] | undefined => (value === undefined ? undefined : Array.isArray(value) ? value : [value]);

function pickStaffOrder(row: Tables<'orders'>): StaffOrder {
    const { id, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at, email, user_id, erp_status, tracking_number, updated_at } = row;
    return { id, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at, email, user_id, erp_status, tracking_number, updated_at };
}

export function createStaff(ctx: Context): StaffApi {
    const { supabase } = ctx;

    return {
        orders: {
            search(filters = {}) {
                return ctx.run(async () => {
                    const limit = Math.min(Math.max(filters.limit ?? 50, 1), 200);
                    const offset = Math.max(filters.offset ?? 0, 0);
                    let query = supabase.from('orders').select(STAFF_ORDER_COLUMNS, { count: 'exact' });
                    const status = list(filters.status);
                    const paymentStatus = list(filters.paymentStatus);
                    const fulfillmentStatus = list(filters.fulfillmentStatus);
                    if (status) query = query.in('status', status);
                    if (paymentStatus) query = query.in('payment_status', paymentStatus);
                    if (fulfillmentStatus) query = query.in('fulfillment_status', fulfillmentStatus);
                    if (filters.number) query = query.eq('number', filters.number);
                    if (filters.email) query = query.ilike('email', `%${filters.email.replace(/[\\%_]/g, '\\$&')}%`);
                    if (filters.createdFrom) query = query.gte('created_at', filters.createdFrom);
                    if (filters.createdBefore) query = query.lt('created_at', filters.createdBefore);
                    const response = await query.order('created_at', { ascending: false }).order('id').range(offset, offset + limit - 1);
                    const orders = await ctx.rows(response);
                    return { orders, total: response.count ?? orders.length };
                });
            },
        },

        fulfil(orderId, status, tracking) {
            return ctx.run(async () => {
                const input = parseWith(FulfilRequest, toWire({ orderId, status, trackingNumber: tracking }));
                const args: FulfilmentArgs = { p_order_id: input.order_id, p_status: input.status, ...(input.tracking_number ? { p_tracking_number: input.tracking_number } : {}) };
                return pickStaffOrder(await ctx.rows(await supabase.rpc('set_fulfillment_status', args)));
            });
        },

        refund(orderId, amount, reason, options = {}) {
            return ctx.run(async () => {
                const body = parseWith(RefundRequest, toWire({ orderId, amount, reason, idempotencyKey: options.idempotencyKey }));
                return ctx.invoke<RefundResponse>('refund', body);
            });
        },

        inventory: {
            adjust(adjustment) {
                return ctx.run(async () => {
                    const input = parseWith(AdjustInventoryInput, toWire(adjustment));
                    const level = await ctx.rows(
                        await supabase.rpc('adjust_inventory', {
                            p_variant_id: input.variant_id,
                            p_quantity: input.quantity,
                            p_reason: input.reason,
                            ...(input.kind ? { p_kind: input.kind } : {}),
                        }),
                    );
                    return { variant_id: level.variant_id, on_hand: level.on_hand, reserved: level.reserved };
                });
            },
        },

        outbox: {
            deadLetters(query = {}) {
                return ctx.run(async () => {
                    const args = parseWith(ListDeadLettersInput, toWire(query, 'p_'));
                    // The generated type cannot know which columns are nullable; the contract says.
                    return (await ctx.rows(await supabase.rpc('list_dead_letters', args))) as DeadLetter[];
                });
            },
            replay(id) {
                return ctx.run(async () => {
                    const args = parseWith(ReplayDeadLetterInput, { p_id: id });
                    return (await ctx.rows(await supabase.rpc('replay_outbox_message', args))) as unknown as ReplayDeadLetterResult;
                });
            },
        },
    };
}
