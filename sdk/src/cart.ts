// The signed-in customer's cart: their most recent open cart (made on the first `add`;
// concurrent adds of one client share it) and its lines, one per variant. Only what RLS and the column grants allow customers is
// used: carts and lines are inserted, a line's `quantity` updated, lines deleted.
//
// `add` adds to an existing line. An upsert cannot do that here (PostgREST's upsert sets
// every column it sends, and customers may update `quantity` only), so it reads the line
// and writes the sum on the condition that the quantity is still the one it read — a
// compare-and-set: a concurrent `add` makes the write match no row and it tries again, so
// no addition is lost. A line inserted concurrently by another `add` is a unique
// violation, also retried (as an update).
import { z } from 'zod';
import type { Tables } from '../database.types.ts';
import type { Context } from './context.ts';
import { CartQuantity } from './contract/catalog.ts';
import { failure } from './error-mapping.ts';
import type { TillbaseRequest } from './result.ts';
import { currentUserId } from './session.ts';
import { parseWith } from './validate.ts';

export type CartLine = Pick<Tables<'cart_items'>, 'id' | 'variant_id' | 'quantity'> & {
    /** The variant as the catalogue shows it; null when it is no longer sold. */
    variant:
        | (Pick<Tables<'product_variants'>, 'sku' | 'name' | 'price_amount' | 'currency' | 'in_stock' | 'image_path'> & {
              product: Pick<Tables<'products'>, 'slug' | 'name'> | null;
          })
        | null;
    /** quantity × the variant's current price (the order takes the price at checkout). */
    line_total: number;
};

export type Cart = Pick<Tables<'carts'>, 'id' | 'status' | 'currency' | 'created_at' | 'updated_at'> & {
    items: CartLine[];
    /** The sum of the lines' totals, in minor units of `currency`. */
    subtotal: number;
};

export interface CartApi {
    /** The open cart with its lines, or null when the customer has none. */
    get(): TillbaseRequest<Cart | null>;
    /** Adds `quantity` units of a variant (to its line if there is one); the cart after. */
    add(variantId: string, quantity: number): TillbaseRequest<Cart>;
    /** Sets a line's quantity; `not_found` when the cart has no line of this variant. */
    update(variantId: string, quantity: number): TillbaseRequest<Cart>;
    /** Removes a variant's line (nothing to remove is not an error). */
    remove(variantId: string): TillbaseRequest<Cart | null>;
    /** Removes every line; the (empty) cart stays open. */
    clear(): TillbaseRequest<Cart | null>;
}

const CART_COLUMNS =
    'id, status, currency, created_at, updated_at, items:cart_items(id, variant_id, quantity, created_at, variant:product_variants(sku, name, price_amount, currency, in_stock, image_path, product:products(slug, name)))';
const MAX_ATTEMPTS = 8;
const VariantId = z.uuid();

type CartRow = Omit<Cart, 'items' | 'subtotal'> & { items: Array<Omit<CartLine, 'line_total'> & { created_at: string }> };

function toCart(row: CartRow): Cart {
    const items = [...row.items]
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
        .map(({ created_at: _created, ...line }) => ({ ...line, line_total: line.quantity * (line.variant?.price_amount ?? 0) }));
    return { ...row, items, subtotal: items.reduce((sum, line) => sum + line.line_total, 0) };
}

export function createCart(ctx: Context): CartApi {
    const { supabase } = ctx;

    const openCart = async (): Promise<Cart | null> => {
        const userId = await currentUserId(supabase);
        const response = await supabase
            .from('carts')
            .select(CART_COLUMNS)
            .eq('user_id', userId)
            .eq('status', 'open')
            .order('created_at', { ascending: false })
            .order('id')
            .limit(1)
            .maybeSingle();
        const row = await ctx.rows(response);
        return row ? toCart(row as unknown as CartRow) : null;
    };

    // Finding or making the open cart runs one call at a time in this client, so concurrent
    // adds share one cart instead of making one each.
    let cartLock: Promise<unknown> = Promise.resolve();
    const openCartId = (): Promise<string> => {
        const next = cartLock.then(async () => {
            const existing = await openCart();
            if (existing) return existing.id;
            return (await ctx.rows(await supabase.from('carts').insert({}).select('id').single())).id;
        });
        cartLock = next.catch(() => undefined);
        return next;
    };

    const lineOf = async (cartId: string, variantId: string) =>
        ctx.rows(await supabase.from('cart_items').select('id, quantity').eq('cart_id', cartId).eq('variant_id', variantId).maybeSingle());

    /** Cart writes: a variant that does not exist is `not_found` (a foreign key, 23503). */
    const write = async <T>(response: { data: T | null; error: { code?: string; message?: string } | null; status: number }): Promise<T> => {
        if (response.error?.code === '23503') throw failure('not_found', 'No such variant in the catalogue', undefined, 404);
        return ctx.rows(response);
    };

    const mustOpenCart = async (): Promise<Cart> => {
        const cart = await openCart();
        if (!cart) throw failure('internal', 'The cart disappeared while it was being changed');
        return cart;
    };

    return {
        get: () => ctx.run(openCart),

        add(variantId, quantity) {
            return ctx.run(async () => {
                parseWith(VariantId, variantId, 'variantId');
                parseWith(CartQuantity, quantity, 'quantity');
                for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                    const cartId = await openCartId();
                    const line = await lineOf(cartId, variantId);
                    if (!line) {
                        const inserted = await supabase.from('cart_items').insert({ cart_id: cartId, variant_id: variantId, quantity });
                        if (inserted.error?.code === '23505') continue; // another add made the line first
                        await write(inserted);
                        return mustOpenCart();
                    }
                    const total = line.quantity + quantity;
                    parseWith(CartQuantity, total, 'quantity (with the units already in the cart)');
                    const updated = await write(
                        await supabase.from('cart_items').update({ quantity: total }).eq('id', line.id).eq('quantity', line.quantity).select('id'),
                    );
                    if (updated.length === 1) return mustOpenCart();
                    // The line changed (or went) since it was read: read it again.
                }
                throw failure('conflict', 'The cart kept changing while this was added; try again');
            });
        },

        update(variantId, quantity) {
            return ctx.run(async () => {
                parseWith(VariantId, variantId, 'variantId');
                parseWith(CartQuantity, quantity, 'quantity');
                const cart = await openCart();
                const updated = cart
                    ? await write(await supabase.from('cart_items').update({ quantity }).eq('cart_id', cart.id).eq('variant_id', variantId).select('id'))
                    : [];
                if (updated.length === 0) throw failure('not_found', 'The cart has no line of this variant');
                return mustOpenCart();
            });
        },

        remove(variantId) {
            return ctx.run(async () => {
                parseWith(VariantId, variantId, 'variantId');
                const cart = await openCart();
                if (!cart) return null;
                await ctx.rows(await supabase.from('cart_items').delete().eq('cart_id', cart.id).eq('variant_id', variantId));
                return openCart();
            });
        },

        clear() {
            return ctx.run(async () => {
                const cart = await openCart();
                if (!cart) return null;
                await ctx.rows(await supabase.from('cart_items').delete().eq('cart_id', cart.id));
                return openCart();
            });
        },
    };
}
