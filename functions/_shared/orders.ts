// An order as the backend workers read it (service role): header, customer, lines and
// totals in minor units. One query, validated with zod (bigint columns arrive as strings).
import { z } from 'zod';
import type { Db } from './db.ts';

const amount = z.coerce.number().int().min(0);

export const OrderSnapshot = z.object({
    id: z.string().uuid(),
    number: z.string(),
    version: z.number().int().positive(),
    status: z.string(),
    payment_status: z.string(),
    fulfillment_status: z.string(),
    currency: z.string().length(3),
    subtotal_amount: amount,
    discount_amount: amount,
    shipping_amount: amount,
    tax_amount: amount,
    total_amount: amount,
    email: z.string(),
    customer_name: z.string(),
    tracking_number: z.string().nullable(),
    shipping_address: z.record(z.string(), z.unknown()).nullable(),
    placed_at: z.string(),
    lines: z.array(
        z.object({
            sku: z.string(),
            name: z.string(),
            quantity: z.number().int().positive(),
            unit_price_amount: amount,
            line_total_amount: amount,
        }),
    ),
});

export type OrderSnapshot = z.infer<typeof OrderSnapshot>;

const ORDER_SQL = `
    select o.id, o.number, o.version, o.status, o.payment_status, o.fulfillment_status, o.currency,
           o.subtotal_amount, o.discount_amount, o.shipping_amount, o.tax_amount, o.total_amount,
           o.email, coalesce(p.full_name, '') as customer_name, o.tracking_number, o.shipping_address,
           to_char(o.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as placed_at,
           coalesce((
               select json_agg(json_build_object('sku', i.sku, 'name', i.name, 'quantity', i.quantity,
                                                 'unit_price_amount', i.unit_price_amount,
                                                 'line_total_amount', i.line_total_amount) order by i.sku)
               from public.order_items i where i.order_id = o.id
           ), '[]'::json) as lines
    from public.orders o
    left join public.profiles p on p.id = o.user_id
    where o.id = $1`;

/** The order, or null when it does not exist. */
export async function loadOrder(db: Pick<Db, 'query'>, orderId: string): Promise<OrderSnapshot | null> {
    const { rows } = await db.query(ORDER_SQL, [orderId]);
    return rows[0] ? OrderSnapshot.parse(rows[0]) : null;
}
