// checkout.start: the `checkout` edge function. Its input type is the contract's
// `CheckoutRequest` with camelCase keys (derived, not copied: a field the contract adds,
// renames or makes required changes this type too), made stricter where the schema's
// refinements can be expressed as types (a cart or items; a success URL for a hosted
// page). The body sent is the input with its keys back in snake_case, checked with the
// same zod schema the function parses it with.
import type { z } from 'zod';
import type { Context } from './context.ts';
import { CheckoutRequest, type CheckoutMode, type CheckoutResponse } from './contract/checkout.ts';
import type { TillbaseRequest } from './result.ts';
import { parseWith } from './validate.ts';
import { toWire, type CamelKeys } from './wire.ts';

type CheckoutFields = CamelKeys<z.input<typeof CheckoutRequest>>;

/** What the order is made of: an open cart of the caller, or a list of lines — exactly one. */
type CheckoutSource =
    | { cartId: NonNullable<CheckoutFields['cartId']>; items?: never }
    | { items: NonNullable<CheckoutFields['items']>; cartId?: never };

/** How it is paid: Stripe Elements (client secret) or Stripe's hosted page (needs a success URL). */
type CheckoutPayment =
    | { mode: Extract<CheckoutFields['mode'], 'payment_intent'>; successUrl?: never; cancelUrl?: never }
    | {
          mode: Extract<CheckoutFields['mode'], 'checkout_session'>;
          successUrl: NonNullable<CheckoutFields['successUrl']>;
          cancelUrl?: CheckoutFields['cancelUrl'];
      };

/**
 * `checkout.start`'s input. `idempotencyKey` is one per purchase: the same key returns
 * the same order and payment (retry a failed call with it); when omitted a new one is
 * generated, so every call is a new purchase.
 */
export type CheckoutStartInput = Omit<CheckoutFields, 'cartId' | 'items' | 'mode' | 'successUrl' | 'cancelUrl' | 'idempotencyKey'> & {
    idempotencyKey?: CheckoutFields['idempotencyKey'];
} & CheckoutSource &
    CheckoutPayment;

/** The function's answer for a mode. */
export type CheckoutResponseFor<M extends CheckoutMode> = Extract<CheckoutResponse, { mode: M }>;

export interface CheckoutApi {
    /** Places the order and prepares its payment; the answer is the `checkout` function's. */
    start<M extends CheckoutMode>(input: CheckoutStartInput & { mode: M }): TillbaseRequest<CheckoutResponseFor<M>>;
}

/** A fresh key per purchase (random UUID; `getRandomValues` where `randomUUID` is missing: plain-HTTP pages). */
export function newIdempotencyKey(): string {
    const c = globalThis.crypto;
    if (typeof c.randomUUID === 'function') return c.randomUUID();
    return Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createCheckout(ctx: Context): CheckoutApi {
    const start = (input: CheckoutStartInput) =>
        ctx.run(async () => {
            const body = parseWith(CheckoutRequest, toWire({ ...input, idempotencyKey: input.idempotencyKey ?? newIdempotencyKey() }));
            return ctx.invoke<CheckoutResponse>('checkout', body);
        });
    // The function answers in the mode it was asked for (the contract's discriminated union).
    return { start: start as CheckoutApi['start'] };
}
