// The mapping of every failure source to the contract's codes, without a server: the
// shapes postgrest-js, auth-js and functions-js hand back (their real error classes where
// they export them), and a fetch that got no answer. The journeys in error-codes.test.ts
// produce each code through the stack; this pins the table itself.
import { AuthApiError, AuthRetryableFetchError, AuthSessionMissingError, FunctionsFetchError, FunctionsHttpError, FunctionsRelayError } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, TillbaseError, TillbaseRequest } from '../../sdk/src/index.ts';
import { fromFunctions, fromPostgrest, toTillbaseError } from '../../sdk/src/error-mapping.ts';
import { toWire } from '../../sdk/src/wire.ts';

const pg = (code: string, status: number, message = 'x') => fromPostgrest({ error: { code, message, details: null, hint: null }, status });

describe('PostgREST errors', () => {
    it('maps the SQL API’s SQLSTATEs through codeForSqlState, with the function name taken off the message', () => {
        expect(pg('TB002', 400, 'place_order: not enough stock for TEE-M')).toMatchObject({ code: 'insufficient_stock', message: 'not enough stock for TEE-M', status: 400 });
        expect(pg('TB006', 400).code).toBe('limit_reached');
        expect(pg('TB003', 400).code).toBe('not_found');
        expect(pg('TB001', 400).code).toBe('conflict');
        expect(pg('TB007', 400).code).toBe('empty_cart');
        expect(pg('22023', 400).code).toBe('invalid_argument');
        expect(pg('23505', 409).code).toBe('conflict');
        expect(pg('TB003', 400).details).toMatchObject({ sqlstate: 'TB003' });
    });

    it('tells 42501 apart: nobody signed in → unauthenticated, an aal2 refusal below aal2 → mfa_required, else forbidden', () => {
        expect(pg('42501', 401, 'permission denied for function cancel_order').code).toBe('unauthenticated');
        expect(pg('42501', 403, 'adjust_inventory: warehouse staff or admins only').code).toBe('forbidden');
        const aal2 = 'replay_outbox_message: replaying erp.order.upsert messages needs a session raised with MFA (aal2)';
        expect(fromPostgrest({ error: { code: '42501', message: aal2 }, status: 403 }, { aal: 'aal1' }).code).toBe('mfa_required');
        expect(fromPostgrest({ error: { code: '42501', message: aal2 }, status: 403 }, { aal: 'aal2' }).code).toBe('forbidden');
    });

    it('maps PostgREST’s own codes and, failing those, the status; no answer at all is unavailable', () => {
        expect(pg('PGRST116', 406).code).toBe('not_found');
        expect(pg('PGRST301', 401).code).toBe('unauthenticated');
        expect(pg('PGRST001', 503).code).toBe('unavailable');
        expect(pg('PGRST204', 400).code).toBe('invalid_argument');
        expect(fromPostgrest({ error: { code: '', message: 'TypeError: fetch failed' }, status: 0 })).toMatchObject({ code: 'unavailable', status: 0 });
        expect(pg('XX000', 500).code).toBe('internal');
        expect(pg('P0001', 429).code).toBe('limit_reached');
    });
});

describe('Auth errors', () => {
    it('maps GoTrue’s codes, and auth-js’s own error classes', () => {
        expect(toTillbaseError(new AuthApiError('Invalid TOTP code entered', 422, 'mfa_verification_failed'))).toMatchObject({ code: 'invalid_argument', status: 422, details: { auth_code: 'mfa_verification_failed' } });
        expect(toTillbaseError(new AuthApiError('AAL2 required', 422, 'insufficient_aal')).code).toBe('mfa_required');
        expect(toTillbaseError(new AuthApiError('Invalid login credentials', 400, 'invalid_credentials')).code).toBe('unauthenticated');
        expect(toTillbaseError(new AuthApiError('Request rate limit reached', 429, 'over_request_rate_limit')).code).toBe('limit_reached');
        expect(toTillbaseError(new AuthApiError('Something new', 409, 'a_code_from_the_future')).code).toBe('conflict');
        expect(toTillbaseError(new AuthSessionMissingError()).code).toBe('unauthenticated');
        expect(toTillbaseError(new AuthRetryableFetchError('fetch failed', 0)).code).toBe('unavailable');
    });
});

describe('function errors', () => {
    const answer = (status: number, body: unknown) => new FunctionsHttpError(new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));

    it('keeps the function’s contract code, message and details', async () => {
        const error = await fromFunctions(answer(503, { code: 'unavailable', message: 'The payment provider is unavailable', details: { order_id: 'o' } }));
        expect(error).toMatchObject({ code: 'unavailable', status: 503, message: 'The payment provider is unavailable', details: { order_id: 'o' } });
        expect((await fromFunctions(answer(402, { code: 'payment_failed', message: 'Your card was declined.' }))).code).toBe('payment_failed');
    });

    it('falls back to the status for a body without a contract code, and calls a function that cannot be reached unavailable', async () => {
        expect((await fromFunctions(answer(404, { msg: 'Function not found' }))).code).toBe('not_found');
        expect((await fromFunctions(new FunctionsHttpError(new Response('<html>bad gateway</html>', { status: 502 })))).code).toBe('unavailable');
        expect((await fromFunctions(new FunctionsFetchError(new TypeError('fetch failed')))).code).toBe('unavailable');
        expect((await fromFunctions(new FunctionsRelayError({}))).code).toBe('unavailable');
    });
});

describe('anything else', () => {
    it('a fetch without an answer is unavailable, an unknown throw is internal, a TillbaseError stays itself', () => {
        expect(toTillbaseError(new TypeError('fetch failed'))).toMatchObject({ code: 'unavailable', status: 0 });
        const bug = toTillbaseError(new RangeError('boom'));
        expect(bug).toMatchObject({ code: 'internal', message: 'boom' });
        expect(bug.cause).toBeInstanceOf(RangeError);
        const own = new TillbaseError('conflict', 'taken');
        expect(toTillbaseError(own)).toBe(own);
        expect(own.status).toBe(ERROR_STATUS.conflict);
        expect(JSON.parse(JSON.stringify(own))).toEqual({ code: 'conflict', message: 'taken', status: 409 });
    });
});

describe('TillbaseRequest', () => {
    it('answers {data, error} without rejecting, and .orThrow() throws the TillbaseError', async () => {
        const ok = new TillbaseRequest(async () => 42, toTillbaseError);
        expect(await ok).toEqual({ data: 42, error: null });
        expect(await ok.orThrow()).toBe(42);
        const failed = new TillbaseRequest<number>(async () => {
            throw new TillbaseError('not_found', 'gone');
        }, toTillbaseError);
        expect(await failed).toMatchObject({ data: null, error: { code: 'not_found' } });
        await expect(failed.orThrow()).rejects.toMatchObject({ name: 'TillbaseError', code: 'not_found', message: 'gone' });
    });

    it('catches a helper that throws synchronously', async () => {
        const result = await new TillbaseRequest<number>(() => {
            throw new RangeError('sync');
        }, toTillbaseError);
        expect(result.error).toMatchObject({ code: 'internal', message: 'sync' });
    });
});

describe('toWire', () => {
    it('turns a camelCase input into the contract’s snake_case body, deeply, leaving undefined out', () => {
        expect(toWire({ cartId: 'c', idempotencyKey: 'k', successUrl: undefined, items: [{ variantId: 'v', quantity: 2 }] })).toEqual({
            cart_id: 'c',
            idempotency_key: 'k',
            items: [{ variant_id: 'v', quantity: 2 }],
        });
        expect(toWire({ topic: 'erp.order.upsert', beforeId: 9 }, 'p_')).toEqual({ p_topic: 'erp.order.upsert', p_before_id: 9 });
    });
});
