// A customer's orders: the list, one order with its lines, payment, refunds and
// fulfilment, cancelling an unpaid one (the SQL API's `cancel_order`), and watching an
// order change on Realtime.
//
// `watch` listens on the private broadcast topic `order:<id>` (every status change, sent
// by a trigger; only the order's customer and staff may join) and on the order's
// payment row (postgres_changes, RLS-checked per subscriber: a failed attempt changes
// the payment, not the status). Each notification re-reads the order through the REST
// API, so the callback always gets the whole order as RLS shows it — and once right
// after subscribing, so nothing that happened before is missed.
import type { RealtimeChannel } from '@supabase/supabase-js';
import type { Tables } from '../database.types.ts';
import type { Context } from './context.ts';
import { failure, toTillbaseError } from './error-mapping.ts';
import type { TillbaseError, TillbaseRequest, TillbaseResult } from './result.ts';
import { currentUserId } from './session.ts';
import { parseWith } from './validate.ts';
import { z } from 'zod';

type OrderRow = Tables<'orders'>;

/** An order in a list: number, states, total. */
export type OrderSummary = Pick<
    OrderRow,
    'id' | 'number' | 'status' | 'payment_status' | 'fulfillment_status' | 'total_amount' | 'currency' | 'created_at' | 'expires_at' | 'paid_at'
>;

export type OrderLine = Pick<Tables<'order_items'>, 'id' | 'variant_id' | 'sku' | 'name' | 'quantity' | 'unit_price_amount' | 'line_total_amount' | 'currency'>;
export type OrderPayment = Pick<
    Tables<'payments'>,
    'id' | 'status' | 'amount' | 'amount_authorized' | 'amount_captured' | 'amount_refunded' | 'currency' | 'failure_message' | 'stripe_payment_intent_id' | 'stripe_checkout_session_id' | 'updated_at'
>;
export type OrderRefund = Pick<Tables<'refunds'>, 'id' | 'amount' | 'currency' | 'status' | 'reason' | 'created_at'>;

/** One order with everything a customer may see of it. */
export type OrderDetail = OrderSummary &
    Pick<
        OrderRow,
        'email' | 'subtotal_amount' | 'discount_amount' | 'shipping_amount' | 'tax_amount' | 'shipping_address' | 'billing_address' | 'tracking_number' | 'canceled_at' | 'updated_at'
    > & {
        items: OrderLine[];
        /** The order's payment (one per order), null until checkout created it. */
        payment: OrderPayment | null;
        refunds: OrderRefund[];
    };

export interface OrderWatch {
    /** Settles once the subscription is live and the first copy of the order was delivered (or with why it failed). */
    readonly ready: Promise<TillbaseResult<OrderDetail>>;
    /** Leaves the channel; no callback after it resolves. */
    stop(): Promise<void>;
}

export interface WatchOptions {
    /** A failure after `ready` (a re-read that failed, the channel closing on an error). */
    onError?: (error: TillbaseError) => void;
}

export interface WaitForPaymentOptions {
    /** Give up after this long (default 120 000 ms) with `unavailable`. */
    timeoutMs?: number;
    /**
     * The customer is trying again after a declined attempt: the order's `failed` state at
     * the start is that attempt's, not an outcome; only a new failure (or success) counts.
     */
    retrying?: boolean;
}

export interface OrdersApi {
    /** The signed-in customer's orders, newest first. */
    list(options?: { limit?: number; offset?: number }): TillbaseRequest<OrderSummary[]>;
    /** One order; `not_found` when it does not exist or is not the caller's. */
    get(id: string): TillbaseRequest<OrderDetail>;
    /** Cancels an unpaid order (its stock is released); `conflict` once it is paid. */
    cancel(id: string): TillbaseRequest<OrderSummary>;
    /** Calls `onChange` with the order now and after every change of its status or payment. */
    watch(id: string, onChange: (order: OrderDetail) => void, options?: WatchOptions): OrderWatch;
    /**
     * Waits for the outcome of a payment (Stripe's webhook reaching the shop): the order
     * once paid (or authorized); `payment_failed` when the payment is failed (with
     * `retrying`, only when it fails again while waiting); `conflict` when the order
     * expires or is canceled; `unavailable` after the timeout.
     */
    waitForPayment(id: string, options?: WaitForPaymentOptions): TillbaseRequest<OrderDetail>;
}

const SUMMARY_COLUMNS = 'id, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at';
const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, email, subtotal_amount, discount_amount, shipping_amount, tax_amount, shipping_address, billing_address, tracking_number, canceled_at, updated_at,
    items:order_items(id, variant_id, sku, name, quantity, unit_price_amount, line_total_amount, currency),
    payments(id, status, amount, amount_authorized, amount_captured, amount_refunded, currency, failure_message, stripe_payment_intent_id, stripe_checkout_session_id, updated_at),
    refunds(id, amount, currency, status, reason, created_at)`;

const OrderId = z.uuid();
const PAID: ReadonlyArray<OrderRow['status']> = ['paid', 'fulfilling', 'fulfilled', 'completed'];
const CLOSED: ReadonlyArray<OrderRow['status']> = ['expired', 'canceled'];

type DetailRow = Omit<OrderDetail, 'payment'> & { payments: OrderPayment[] };

export function createOrders(ctx: Context): OrdersApi {
    const { supabase } = ctx;

    const read = async (id: string): Promise<OrderDetail> => {
        parseWith(OrderId, id, 'id');
        const row = await ctx.rows(await supabase.from('orders').select(DETAIL_COLUMNS).eq('id', id).maybeSingle());
        if (!row) throw failure('not_found', 'No such order (or it is not yours)', undefined, 404);
        const { payments, ...order } = row as unknown as DetailRow;
        return { ...order, items: [...order.items].sort((a, b) => a.sku.localeCompare(b.sku)), payment: payments[0] ?? null };
    };

    // One channel per order and client (supabase-js keeps one channel per topic): every
    // watch of the order listens on it; the last one to stop leaves it.
    interface SharedChannel {
        listeners: Set<() => void>;
        failures: Set<(error: TillbaseError) => void>;
        /** Settles when the join is answered: nothing, or why it failed. */
        joined: Promise<TillbaseError | undefined>;
        channel?: RealtimeChannel;
    }
    const channels = new Map<string, SharedChannel>();

    const join = (id: string): SharedChannel => {
        const existing = channels.get(id);
        if (existing) return existing;
        const shared: SharedChannel = { listeners: new Set(), failures: new Set(), joined: Promise.resolve(undefined) };
        const notify = () => shared.listeners.forEach((listener) => listener());
        shared.joined = (async () => {
            // The join carries the user's token: make sure realtime has the current one.
            await supabase.realtime.setAuth();
            return new Promise<TillbaseError | undefined>((resolve) => {
                let subscribed = false;
                shared.channel = supabase
                    .channel(`order:${id}`, { config: { private: true } })
                    .on('broadcast', { event: 'status_changed' }, notify)
                    .on('postgres_changes', { event: '*', schema: 'public', table: 'payments', filter: `order_id=eq.${id}` }, notify)
                    .subscribe((status, error) => {
                        if (status === 'SUBSCRIBED') {
                            subscribed = true;
                            resolve(undefined);
                        } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
                            const reason = error?.message ?? status;
                            // Realtime Authorization refuses a topic the user cannot read: the order is not theirs.
                            const refused = /permission|unauthori[sz]ed/i.test(reason);
                            const mapped = failure(refused ? 'not_found' : 'unavailable', refused ? 'No such order to watch (or it is not yours)' : `Realtime: ${reason}`, { reason });
                            if (subscribed) shared.failures.forEach((listener) => listener(mapped));
                            else resolve(mapped);
                        }
                    });
            });
        })().catch((error: unknown) => toTillbaseError(error));
        // A refused or failed join is not kept: the next watch of the order tries again.
        void shared.joined.then(async (error) => {
            if (!error || channels.get(id) !== shared) return;
            channels.delete(id);
            if (shared.channel) await supabase.removeChannel(shared.channel);
            if (supabase.getChannels().length === 0) await supabase.realtime.disconnect();
        });
        channels.set(id, shared);
        return shared;
    };

    const leave = async (id: string, shared: SharedChannel) => {
        if (shared.listeners.size > 0 || channels.get(id) !== shared) return;
        channels.delete(id);
        await shared.joined;
        if (shared.channel) await supabase.removeChannel(shared.channel);
        // supabase-js keeps an empty socket open for a while (2 heartbeats) before closing it,
        // which holds a Node process open: the socket these watches opened closes with the last one.
        if (supabase.getChannels().length === 0) await supabase.realtime.disconnect();
    };

    const watch = (id: string, onChange: (order: OrderDetail) => void, options: WatchOptions = {}): OrderWatch => {
        let stopped = false;
        let last = '';
        let settle: (result: TillbaseResult<OrderDetail>) => void = () => {};
        const ready = new Promise<TillbaseResult<OrderDetail>>((resolve) => (settle = resolve));
        // Re-reads run one after another, so callbacks arrive in the order of the reads.
        let queue = Promise.resolve();
        const refresh = (first = false) => {
            queue = queue.then(async () => {
                if (stopped) return;
                try {
                    const order = await read(id);
                    if (stopped) return;
                    const seen = JSON.stringify(order);
                    if (seen !== last) {
                        last = seen;
                        onChange(order);
                    }
                    if (first) settle({ data: order, error: null });
                } catch (error) {
                    const mapped = toTillbaseError(error);
                    if (first) settle({ data: null, error: mapped });
                    else options.onError?.(mapped);
                }
            });
        };

        let shared: SharedChannel | undefined;
        const listener = () => refresh();
        const onFailure = (error: TillbaseError) => options.onError?.(error);
        try {
            parseWith(OrderId, id, 'id');
            shared = join(id);
            shared.listeners.add(listener);
            shared.failures.add(onFailure);
            void shared.joined.then((error) => {
                if (error) settle({ data: null, error });
                else refresh(true);
            });
        } catch (error) {
            settle({ data: null, error: toTillbaseError(error) });
        }

        return {
            ready,
            async stop() {
                stopped = true;
                settle({ data: null, error: failure('conflict', 'The watch was stopped before it was ready') });
                if (!shared) return;
                shared.listeners.delete(listener);
                shared.failures.delete(onFailure);
                await leave(id, shared);
            },
        };
    };

    return {
        list(options = {}) {
            return ctx.run(async () => {
                const userId = await currentUserId(supabase);
                const limit = options.limit ?? 50;
                const offset = options.offset ?? 0;
                return ctx.rows(
                    await supabase
                        .from('orders')
                        .select(SUMMARY_COLUMNS)
                        .eq('user_id', userId)
                        .order('created_at', { ascending: false })
                        .order('id')
                        .range(offset, offset + limit - 1),
                );
            });
        },

        get: (id) => ctx.run(() => read(id)),

        cancel(id) {
            return ctx.run(async () => {
                parseWith(OrderId, id, 'id');
                const row = await ctx.rows(await supabase.rpc('cancel_order', { p_order_id: id }));
                const { id: orderId, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at } = row;
                return { id: orderId, number, status, payment_status, fulfillment_status, total_amount, currency, created_at, expires_at, paid_at };
            });
        },

        watch,

        waitForPayment(id, options = {}) {
            return ctx.run(
                () =>
                    new Promise<OrderDetail>((resolve, reject) => {
                        let initial = true;
                        let done = false;
                        // The first outcome wins; the channel is left before it is reported.
                        const finish = (outcome: () => void) => {
                            if (done) return;
                            done = true;
                            clearTimeout(timer);
                            void watcher.stop().then(outcome, outcome);
                        };
                        const timeoutMs = options.timeoutMs ?? 120_000;
                        const timer = setTimeout(
                            () => finish(() => reject(failure('unavailable', `No payment outcome within ${timeoutMs} ms`, { order_id: id }))),
                            timeoutMs,
                        );
                        const watcher = watch(
                            id,
                            (order) => {
                                const changed = !initial;
                                initial = false;
                                if (PAID.includes(order.status) || order.payment_status === 'authorized') finish(() => resolve(order));
                                else if (CLOSED.includes(order.status)) finish(() => reject(failure('conflict', `The order is ${order.status}`, { order_id: id, status: order.status })));
                                else if (order.payment_status === 'failed' && (changed || !options.retrying)) {
                                    const message = order.payment?.failure_message ?? 'The payment failed';
                                    finish(() => reject(failure('payment_failed', message, { order_id: id, failure_message: order.payment?.failure_message ?? null })));
                                }
                            },
                            { onError: (error) => finish(() => reject(error)) },
                        );
                        void watcher.ready.then(({ error }) => {
                            if (error) finish(() => reject(error));
                        });
                    }),
            );
        },
    };
}

