// Inputs the SDK validates before it asks the API: the catalogue's filters, cart
// quantities and staff inputs that go to rpc calls. Like the functions' schemas, they
// live in the contract so that one definition types the SDK and checks the input.
import { z } from 'zod';
import { CheckoutItem } from './checkout.ts';

/** `catalog.list` filters; `limit` 1–100 (default 24), `offset` ≥ 0. */
export const CatalogListInput = z
    .object({
        /** A category's slug. */
        category: z.string().min(1).max(200).optional(),
        /** Words looked for in product names and descriptions (case-insensitive). */
        search: z.string().trim().min(1).max(200).optional(),
        limit: z.number().int().min(1).max(100).optional(),
        offset: z.number().int().min(0).optional(),
    })
    .strict();
export type CatalogListInput = z.input<typeof CatalogListInput>;

/** A cart line's quantity: the bounds of an order line (cart_items.quantity has the same check). */
export const CartQuantity = CheckoutItem.shape.quantity;
