// Pure pieces of the payment functions, without a database or a server: error mapping
// (database outages, SQLSTATEs, Stripe failures), input parsing, and the Stripe
// parameters a checkout derives from its order.
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { CheckoutRequest } from '../../../sdk/src/contract/index.ts';
import { apiError, errorResponse, isDatabaseUnavailable, parseInput, sqlFailure } from '../../../functions/_shared/errors.ts';
import { HttpError } from '../../../functions/_shared/http.ts';
import { createLogger } from '../../../functions/_shared/log.ts';
import { stripeFailure } from '../../../functions/_shared/stripe.ts';
import { checkoutSessionParams, idempotencyKeys, paymentIntentParams, sessionLineItems, type CheckoutOrder } from '../../../functions/checkout/payment.ts';

const order: CheckoutOrder = {
    id: '0fdd96b7-65f8-49cf-a5ca-5a72ee45c0e3',
    number: 'TB-000042',
    currency: 'EUR',
    total_amount: 9400,
    subtotal_amount: 9400,
    discount_amount: 0,
    shipping_amount: 0,
    tax_amount: 0,
    email: 'ada@example.test',
};
const lines = [{ name: 'Merino Tee — M', unit_price_amount: 4700, quantity: 2 }];

describe('isDatabaseUnavailable', () => {
    it.each([
        ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })],
        ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
        ['an admin shutdown (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
        ['too many connections (53300)', Object.assign(new Error('too many'), { code: '53300' })],
        ['a deadlock (40P01)', Object.assign(new Error('deadlock'), { code: '40P01' })],
    ])('is true for %s', (_name, error) => expect(isDatabaseUnavailable(error)).toBe(true));

    it.each([
        ['a constraint (23514)', Object.assign(new Error('check'), { code: '23514' })],
        ['an SQL API refusal (TB002)', Object.assign(new Error('stock'), { code: 'TB002' })],
        ['a bug (TypeError)', new TypeError('x is undefined')],
    ])('is false for %s', (_name, error) => expect(isDatabaseUnavailable(error)).toBe(false));
});

describe('errorResponse', () => {
    const log = createLogger({}, () => {});
    it('answers a database outage 503 unavailable, a bug 500 internal, an HttpError as it is', async () => {
        expect(errorResponse(new Error('Connection terminated unexpectedly'), log).status).toBe(503);
        const bug = errorResponse(new TypeError('x is undefined'), log);
        expect([bug.status, await bug.json()]).toEqual([500, { code: 'internal', message: 'Internal error' }]);
        expect(errorResponse(apiError('conflict', 'no'), log).status).toBe(409);
    });
});

describe('sqlFailure', () => {
    it('maps the SQL API\'s SQLSTATEs through the contract and drops the function prefix', () => {
        expect(sqlFailure({ code: 'TB002', message: 'place_order: not enough stock for TEE-M (2 wanted)' })).toMatchObject({
            status: 409,
            code: 'insufficient_stock',
            message: 'not enough stock for TEE-M (2 wanted)',
        });
        expect(sqlFailure({ code: 'TB006', message: 'limit' })).toMatchObject({ status: 429, code: 'limit_reached' });
        expect(sqlFailure({ code: 'TB007', message: 'empty' })).toMatchObject({ status: 422, code: 'empty_cart' });
        expect(sqlFailure({ code: 'XX000', message: 'internal' })).toBeUndefined();
    });
});

describe('parseInput with the checkout contract', () => {
    it('accepts a valid request and names the first bad field otherwise', () => {
        expect(parseInput(CheckoutRequest, { mode: 'payment_intent', idempotency_key: 'k', items: [{ variant_id: order.id, quantity: 1 }] })).toMatchObject({ mode: 'payment_intent' });
        const error = (() => {
            try {
                parseInput(CheckoutRequest, { mode: 'cash', idempotency_key: 'k', items: [] });
            } catch (e) {
                return e;
            }
        })() as HttpError;
        expect(error).toBeInstanceOf(HttpError);
        expect(error.message).toMatch(/^mode: /);
    });
});

describe('stripeFailure', () => {
    const raw = { message: 'm', type: 'api_error' } as const;
    it.each([
        ['a connection error', new Stripe.errors.StripeConnectionError(raw), 503, 'unavailable'],
        ['an API error (Stripe 5xx)', new Stripe.errors.StripeAPIError(raw), 503, 'unavailable'],
        ['a rate limit', new Stripe.errors.StripeRateLimitError(raw), 503, 'unavailable'],
        ['an idempotency key reused with other parameters', new Stripe.errors.StripeIdempotencyError(raw), 409, 'conflict'],
        [
            'an idempotency key still in use by another request',
            new Stripe.errors.StripeInvalidRequestError({ message: 'm', type: 'invalid_request_error', code: 'idempotency_key_in_use' }),
            409,
            'conflict',
        ],
        ['a declined card', new Stripe.errors.StripeCardError({ ...raw, type: 'card_error' }), 402, 'payment_failed'],
    ])('maps %s', (_name, error, status, code) => expect(stripeFailure(error)).toMatchObject({ status, code }));

    it('rethrows a request Stripe found invalid (our bug)', () => {
        const invalid = new Stripe.errors.StripeInvalidRequestError({ message: 'No such customer', type: 'invalid_request_error' });
        expect(() => stripeFailure(invalid)).toThrow(invalid);
    });
});

describe('what a checkout asks Stripe for', () => {
    it('derives the idempotency keys from the order (and the session deadline)', () => {
        expect(idempotencyKeys.paymentIntent(order.id)).toBe(`tillbase:order:${order.id}:payment_intent`);
        expect(idempotencyKeys.checkoutSession(order.id, 1795692000)).toBe(`tillbase:order:${order.id}:checkout_session:1795692000`);
    });

    it('asks for the order total in Stripe\'s lower-case currency, with the order in metadata', () => {
        expect(paymentIntentParams(order, 'cus_1')).toEqual({
            amount: 9400,
            currency: 'eur',
            customer: 'cus_1',
            automatic_payment_methods: { enabled: true },
            description: 'Order TB-000042',
            receipt_email: 'ada@example.test',
            metadata: { order_id: order.id, order_number: 'TB-000042' },
        });
    });

    it('lists the order lines on the hosted page, plus shipping and tax', () => {
        const withShipping = { ...order, shipping_amount: 500, tax_amount: 200, total_amount: 10_100 };
        expect(sessionLineItems(withShipping, lines).map((l) => [l.price_data!.product_data!.name, l.price_data!.unit_amount, l.quantity])).toEqual([
            ['Merino Tee — M', 4700, 2],
            ['Shipping', 500, 1],
            ['Tax', 200, 1],
        ]);
    });

    it('charges one line of the order total when a discount applies, so Stripe charges exactly the total', () => {
        const discounted = { ...order, discount_amount: 400, total_amount: 9000 };
        expect(sessionLineItems(discounted, lines)).toEqual([{ price_data: { currency: 'eur', unit_amount: 9000, product_data: { name: 'Order TB-000042' } }, quantity: 1 }]);
    });

    it('gives the session the deadline, the order reference and the return URLs', () => {
        expect(checkoutSessionParams(order, lines, 'cus_1', { success_url: 'http://shop/ok' }, 1795692000)).toMatchObject({
            mode: 'payment',
            customer: 'cus_1',
            client_reference_id: order.id,
            expires_at: 1795692000,
            success_url: 'http://shop/ok',
            payment_intent_data: { metadata: { order_id: order.id } },
        });
    });
});
