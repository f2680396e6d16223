// PostgREST's overload resolution (stack/rest/call-plan.ts) on a hand-made schema cache:
// no database needed.
import { describe, expect, it } from 'vitest';
import { findFunction, type RpcInvocation } from '../../../stack/rest/call-plan.js';
import { ApiError } from '../../../stack/rest/errors.js';
import { compareOverloads, relKey, type FunctionArg, type PgFunction, type SchemaCache } from '../../../stack/rest/schema-cache.js';

let oid = 1000;
const TYPE_OIDS: Record<string, number> = { integer: 23, text: 25, json: 114, jsonb: 3802, bytea: 17, xml: 142, boolean: 16 };

function fn(name: string, args: [name: string, type: string, hasDefault?: boolean][]): PgFunction {
    const params: FunctionArg[] = args.map(([n, type, hasDefault]) => ({ name: n, type, typeOid: TYPE_OIDS[type] ?? 0, hasDefault: !!hasDefault, variadic: false }));
    return {
        oid: oid++,
        schema: 'public',
        name,
        args: params,
        description: null,
        rows: 1000,
        volatility: 'i',
        returnsSet: false,
        returnType: 'integer',
        returnTypeOid: 23,
        returnComposite: false,
        returnRelation: null,
        returnsVoid: false,
        outColumns: [],
    };
}

function cacheOf(...fns: PgFunction[]): SchemaCache {
    const functions = new Map<string, PgFunction[]>();
    for (const f of fns) functions.set(relKey(f.schema, f.name), [...(functions.get(relKey(f.schema, f.name)) ?? []), f]);
    for (const list of functions.values()) list.sort(compareOverloads);
    return {
        relations: new Map(),
        relationsByOid: new Map(),
        relationships: new Map(),
        functions,
        settings: { pgrst: new Map(), perRole: new Map() },
        timezones: new Set(),
        loadedAt: 0,
    };
}

const post = (keys: string[], body: RpcInvocation['body'] = 'json'): RpcInvocation => ({ post: true, body, keys: new Set(keys) });
const get = (keys: string[]): RpcInvocation => ({ post: false, body: 'json', keys: new Set(keys) });

function errorOf(run: () => unknown): ApiError {
    try {
        run();
    } catch (error) {
        if (error instanceof ApiError) return error;
        throw error;
    }
    throw new Error('expected an ApiError');
}

describe('findFunction', () => {
    const add = fn('add', [
        ['a', 'integer'],
        ['b', 'integer', true],
    ]);
    const cache = cacheOf(add, fn('add', [['c', 'integer']]));

    it('matches the required parameters and any optional ones, nothing else', () => {
        expect(findFunction(cache, 'public', 'add', post(['a'])).oid).toBe(add.oid);
        expect(findFunction(cache, 'public', 'add', post(['a', 'b'])).oid).toBe(add.oid);
        expect(findFunction(cache, 'public', 'add', get(['c'])).args[0]!.name).toBe('c');
        expect(errorOf(() => findFunction(cache, 'public', 'add', post(['b']))).code).toBe('PGRST202');
        expect(errorOf(() => findFunction(cache, 'public', 'add', post(['a', 'x']))).code).toBe('PGRST202');
    });

    it('falls back to a single unnamed parameter of the body\'s type only when no names match', () => {
        const named = fn('take', [['data', 'json']]);
        const unnamed = fn('take', [['', 'json']]);
        const both = cacheOf(named, unnamed);
        expect(findFunction(both, 'public', 'take', post(['data'])).oid).toBe(named.oid);
        expect(findFunction(both, 'public', 'take', post(['other'])).oid).toBe(unnamed.oid);
        // A GET never carries a body.
        expect(errorOf(() => findFunction(both, 'public', 'take', get(['other']))).code).toBe('PGRST202');
    });

    it('picks the parameter type from the Content-Type of a raw body', () => {
        const c = cacheOf(fn('raw', [['', 'text']]), fn('raw', [['', 'bytea']]), fn('raw', [['', 'xml']]));
        expect(findFunction(c, 'public', 'raw', post([], 'text')).args[0]!.type).toBe('text');
        expect(findFunction(c, 'public', 'raw', post([], 'octet')).args[0]!.type).toBe('bytea');
        expect(findFunction(c, 'public', 'raw', post([], 'xml')).args[0]!.type).toBe('xml');
        expect(errorOf(() => findFunction(c, 'public', 'raw', post([], 'json'))).code).toBe('PGRST202');
    });

    it('a function without parameters is not called with a raw body', () => {
        const c = cacheOf(fn('none', []));
        expect(findFunction(c, 'public', 'none', post([])).name).toBe('none');
        expect(errorOf(() => findFunction(c, 'public', 'none', post([], 'text'))).code).toBe('PGRST202');
    });

    it('lists ambiguous candidates fewest parameters first, then by parameter type', () => {
        const c = cacheOf(fn('amb', [['', 'text', true]]), fn('amb', [['', 'jsonb', true]]), fn('amb', []));
        const error = errorOf(() => findFunction(c, 'public', 'amb', post([])));
        expect(error.status).toBe(300);
        expect(error.message).toBe('Could not choose the best candidate function between: public.amb(), public.amb( => jsonb), public.amb( => text)');
    });

    it('suggests a parameter list as declared, and nothing for a raw body', () => {
        const c = cacheOf(fn('ranked', [
            ['zeta', 'integer'],
            ['alpha', 'integer'],
        ]));
        expect(errorOf(() => findFunction(c, 'public', 'ranked', post(['zeta']))).hint).toBe('Perhaps you meant to call the function public.ranked(zeta, alpha)');
        expect(errorOf(() => findFunction(c, 'public', 'ranked', post([], 'text'))).hint).toBeNull();
    });
});
