// The functions' shared building blocks: one error shape, env validated at boot, JSON logs.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readEnv } from '../../functions/_shared/env.ts';
import { HttpError, preflight, readJson, toResponse } from '../../functions/_shared/http.ts';
import { createLogger } from '../../functions/_shared/log.ts';

describe('toResponse', () => {
    it('answers an HttpError with its status and a {code, message, details} body', async () => {
        const response = toResponse(new HttpError(409, 'conflict', 'Already there', { id: 1 }));
        expect(response.status).toBe(409);
        expect(response.headers.get('content-type')).toBe('application/json');
        expect(await response.json()).toEqual({ code: 'conflict', message: 'Already there', details: { id: 1 } });
    });

    it('answers anything else 500 internal without leaking its message, and logs it', async () => {
        const lines: string[] = [];
        const response = toResponse(new Error('relation "private.secret" does not exist'), createLogger({}, (l) => lines.push(l)));
        expect(response.status).toBe(500);
        const text = await response.text();
        expect(JSON.parse(text)).toEqual({ code: 'internal', message: 'Internal error' });
        expect(text).not.toContain('private.secret');
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', error: { message: 'relation "private.secret" does not exist' } });
    });
});

describe('readJson', () => {
    it('refuses a body that is not JSON with 400 invalid_argument', async () => {
        const error = await readJson(new Request('http://x/', { method: 'POST', body: '{nope' })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HttpError);
        expect((error as HttpError).status).toBe(400);
        expect((error as HttpError).code).toBe('invalid_argument');
    });

    it('reads an empty body as an empty object', async () => {
        expect(await readJson(new Request('http://x/', { method: 'POST', body: '' }))).toEqual({});
    });
});

describe('preflight', () => {
    it('answers OPTIONS with CORS headers and lets other methods through', () => {
        const answer = preflight(new Request('http://x/', { method: 'OPTIONS' }));
        expect(answer?.headers.get('access-control-allow-origin')).toBe('*');
        expect(preflight(new Request('http://x/', { method: 'POST' }))).toBeUndefined();
    });
});

describe('readEnv', () => {
    it('names every missing or malformed variable', () => {
        const schema = z.object({ STRIPE_SECRET_KEY: z.string().startsWith('sk_'), SUPABASE_URL: z.string().url() });
        expect(() => readEnv(schema, { STRIPE_SECRET_KEY: 'pk_x' })).toThrow(/STRIPE_SECRET_KEY: .*SUPABASE_URL/);
    });

    it('returns the parsed values', () => {
        expect(readEnv(z.object({ A: z.coerce.number() }), { A: '3' })).toEqual({ A: 3 });
    });
});
