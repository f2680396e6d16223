// The SDK's types come from the generated Database type (rows, enums) and the contract's
// zod schemas (inputs, answers). Vitest checks these with tsc (`typecheck` in
// vitest.config.ts: each failed assertion is a failed test); test/sdk/types.test.ts
// compiles code that must not compile.
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
    CamelCase,
    CatalogProduct,
    CatalogVariant,
    CheckoutRequest,
    CheckoutSessionCheckout,
    CheckoutStartInput,
    Database,
    DeadLetter,
    DeadLetterQuery,
    Enums,
    ErrorCode,
    InventoryAdjustment,
    ListDeadLettersInput,
    OrderDetail,
    PaymentIntentCheckout,
    ProfileChanges,
    RefundReason,
    RefundResponse,
    Tables,
    TablesUpdate,
    TillbaseClient,
    TillbaseError,
    TillbaseResult,
    TypedSupabaseClient,
} from '../../sdk/src/index.ts';
import type { AdjustInventoryInput } from '../../sdk/src/contract/staff.ts';

type Args<F extends keyof Database['public']['Functions']> = Database['public']['Functions'][F]['Args'];
type Start = TillbaseClient['checkout']['start'];
// Only type-checked, never run: a client value to call methods on.
declare const tb: TillbaseClient;
type Staff = TillbaseClient['staff'];

describe('types from the schema and the contract', () => {
    it('rows are the generated Database rows', () => {
        expectTypeOf<TillbaseClient['supabase']>().toEqualTypeOf<TypedSupabaseClient>();
        expectTypeOf<CatalogVariant['price_amount']>().toEqualTypeOf<Tables<'product_variants'>['price_amount']>();
        expectTypeOf<CatalogVariant['options']>().toEqualTypeOf<Tables<'product_variants'>['options']>();
        expectTypeOf<CatalogProduct['slug']>().toEqualTypeOf<Tables<'products'>['slug']>();
        expectTypeOf<OrderDetail['status']>().toEqualTypeOf<Enums<'order_status'>>();
        expectTypeOf<OrderDetail['payment_status']>().toEqualTypeOf<Enums<'payment_status'>>();
        expectTypeOf<OrderDetail['items'][number]['unit_price_amount']>().toEqualTypeOf<Tables<'order_items'>['unit_price_amount']>();
        expectTypeOf<NonNullable<OrderDetail['payment']>['status']>().toEqualTypeOf<Enums<'payment_state'>>();
        expectTypeOf<ProfileChanges>().toEqualTypeOf<Pick<TablesUpdate<'profiles'>, 'full_name' | 'phone' | 'shipping_address' | 'billing_address'>>();
    });

    it('checkout.start takes the contract’s CheckoutRequest, camelCased, and answers per mode', () => {
        // Exactly the contract's fields: a field the schema adds, renames or drops changes this type.
        expectTypeOf<keyof CheckoutStartInput>().toEqualTypeOf<CamelCase<keyof z.input<typeof CheckoutRequest>>>();
        expectTypeOf<CheckoutStartInput['mode']>().toEqualTypeOf<z.input<typeof CheckoutRequest>['mode']>();
        expectTypeOf<NonNullable<CheckoutStartInput['items']>[number]['quantity']>().toEqualTypeOf<number>();
        expectTypeOf<Start>().toBeCallableWith({ mode: 'payment_intent', cartId: 'c' });
        expectTypeOf<Start>().toBeCallableWith({ mode: 'checkout_session', items: [{ variantId: 'v', quantity: 1 }], successUrl: 'https://x' });
        expectTypeOf(tb.checkout.start({ mode: 'payment_intent', cartId: 'c' })).resolves.toEqualTypeOf<TillbaseResult<PaymentIntentCheckout>>();
        expectTypeOf(tb.checkout.start({ mode: 'checkout_session', cartId: 'c', successUrl: 'https://x' }).orThrow()).resolves.toEqualTypeOf<CheckoutSessionCheckout>();
    });

    it('staff inputs are the schema’s enums and the contract’s schemas', () => {
        expectTypeOf<Staff['fulfil']>().parameter(1).toEqualTypeOf<Exclude<Enums<'fulfillment_status'>, 'unfulfilled'>>();
        expectTypeOf<Staff['fulfil']>().parameter(1).toEqualTypeOf<Args<'set_fulfillment_status'>['p_status'] & ('picking' | 'shipped' | 'delivered')>();
        expectTypeOf<Staff['refund']>().parameter(2).toEqualTypeOf<RefundReason | undefined>();
        expectTypeOf<Staff['refund']>().returns.resolves.toEqualTypeOf<TillbaseResult<RefundResponse>>();
        expectTypeOf<InventoryAdjustment['kind']>().toEqualTypeOf<AdjustInventoryInput['kind']>();
        expectTypeOf<NonNullable<InventoryAdjustment['kind']>>().toExtend<Args<'adjust_inventory'>['p_kind'] & string>();
        expectTypeOf<keyof DeadLetterQuery>().toEqualTypeOf<'topic' | 'limit' | 'beforeId'>();
        expectTypeOf<`p_${CamelToSnake<keyof DeadLetterQuery>}`>().toEqualTypeOf<keyof ListDeadLettersInput>();
        expectTypeOf<Staff['outbox']['deadLetters']>().returns.resolves.toEqualTypeOf<TillbaseResult<DeadLetter[]>>();
    });

    it('errors carry the contract’s codes', () => {
        expectTypeOf<TillbaseError['code']>().toEqualTypeOf<ErrorCode>();
        expectTypeOf<TillbaseError['status']>().toEqualTypeOf<number>();
    });
});

type CamelToSnake<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Uppercase<H> ? (H extends Lowercase<H> ? H : `_${Lowercase<H>}`) : H}${CamelToSnake<T>}` : S;

