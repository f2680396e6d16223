// Everything the package exports besides `createTillbaseClient`, which each entry point
// (index.ts for browsers and bundlers, node.ts for Node) defines for its platform.
export { tillbaseFrom, DEFAULT_THUMBNAIL, type TillbaseClient, type TillbaseClientOptions } from './client.ts';
export { TillbaseError, TillbaseRequest, type TillbaseResult } from './result.ts';
export type { ThumbnailOptions, TypedSupabaseClient } from './context.ts';
export { PRODUCT_IMAGES_BUCKET, type CatalogApi, type CatalogCategory, type CatalogImage, type CatalogListOptions, type CatalogPage, type CatalogProduct, type CatalogVariant } from './catalog.ts';
export type { Cart, CartApi, CartLine } from './cart.ts';
export { newIdempotencyKey, type CheckoutApi, type CheckoutResponseFor, type CheckoutStartInput } from './checkout.ts';
export type { OrderDetail, OrderLine, OrderPayment, OrderRefund, OrdersApi, OrderSummary, OrderWatch, WaitForPaymentOptions, WatchOptions } from './orders.ts';
export type { AccountApi, AssuranceLevel, MfaApi, MfaFactor, Profile, ProfileChanges, TotpEnrolment } from './account.ts';
export type { DeadLetterQuery, InventoryAdjustment, InventoryLevel, OrderSearch, StaffApi, StaffOrder, StaffOrderPage } from './staff.ts';
export type { CamelCase, CamelKeys } from './wire.ts';
export * from './contract/index.ts';
export type { Database, Enums, Json, Tables, TablesInsert, TablesUpdate } from '../database.types.ts';
