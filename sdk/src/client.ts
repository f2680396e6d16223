// createTillbaseClient: a typed supabase-js client and the shop's helpers over it.
import { createClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import type { Database } from '../database.types.ts';
import { createAccount, type AccountApi } from './account.ts';
import { createCart, type CartApi } from './cart.ts';
import { createCatalog, type CatalogApi } from './catalog.ts';
import { createCheckout, type CheckoutApi } from './checkout.ts';
import { createContext, type ThumbnailOptions, type TypedSupabaseClient } from './context.ts';
import { createOrders, type OrdersApi } from './orders.ts';
import { createStaff, type StaffApi } from './staff.ts';

export interface TillbaseClientOptions {
    /** Options of the underlying supabase-js client (auth storage, fetch, headers, realtime…). */
    supabase?: SupabaseClientOptions<'public'>;
    /** The catalogue's thumbnails (Storage image transformation); default 400×400, `cover`. */
    thumbnail?: ThumbnailOptions;
}

export interface TillbaseClient {
    /** The typed supabase-js client the helpers use, for anything they do not cover. */
    readonly supabase: TypedSupabaseClient;
    readonly catalog: CatalogApi;
    readonly cart: CartApi;
    readonly checkout: CheckoutApi;
    readonly orders: OrdersApi;
    readonly account: AccountApi;
    readonly staff: StaffApi;
}

export const DEFAULT_THUMBNAIL: ThumbnailOptions = { width: 400, height: 400, resize: 'cover' };

/** The helpers over an existing typed supabase-js client (e.g. one made by `@supabase/ssr`). */
export function tillbaseFrom(supabase: TypedSupabaseClient, options: Pick<TillbaseClientOptions, 'thumbnail'> = {}): TillbaseClient {
    const ctx = createContext(supabase, options.thumbnail ?? DEFAULT_THUMBNAIL);
    return {
        supabase,
        catalog: createCatalog(ctx),
        cart: createCart(ctx),
        checkout: createCheckout(ctx),
        orders: createOrders(ctx),
        account: createAccount(ctx),
        staff: createStaff(ctx),
    };
}

/** A new supabase-js client for `url` and `key` (the anon or publishable key) with the helpers. */
export function createTillbaseClientWith(url: string, key: string, options: TillbaseClientOptions = {}): TillbaseClient {
    return tillbaseFrom(createClient<Database>(url, key, options.supabase), options);
}
