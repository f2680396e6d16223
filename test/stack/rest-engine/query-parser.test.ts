// The query-string grammar on its own: what each PostgREST form parses into, and the
// PGRST100 error shape for malformed input.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../stack/rest/errors.js';
import { parseFilterKey, parseFilterValue, parseLogic, parseOrder, parseSelect } from '../../../stack/rest/query-parser.js';

describe('select', () => {
    it('parses columns, aliases, casts and JSON paths', () => {
        expect(parseSelect('id,full:name,price::text,meta->a->>b')).toEqual([
            { kind: 'field', field: { name: 'id', jsonPath: [] } },
            { kind: 'field', field: { name: 'name', jsonPath: [] }, alias: 'full' },
            { kind: 'field', field: { name: 'price', jsonPath: [] }, cast: 'text' },
            {
                kind: 'field',
                field: {
                    name: 'meta',
                    jsonPath: [
                        { arrow: '->', key: 'a', index: false },
                        { arrow: '->>', key: 'b', index: false },
                    ],
                },
            },
        ]);
    });

    it('parses embeds with alias, hint, join type and spread', () => {
        const [embed, spread] = parseSelect('buyer:customers!orders_customer_id_fkey!inner(id,name),...brands(name)');
        expect(embed).toMatchObject({ kind: 'embed', name: 'customers', alias: 'buyer', hint: 'orders_customer_id_fkey', joinType: 'inner', spread: false });
        expect(spread).toMatchObject({ kind: 'embed', name: 'brands', spread: true, children: [{ kind: 'field', field: { name: 'name' } }] });
    });

    it('parses aggregates and count()', () => {
        expect(parseSelect('total.sum(),n:count(),price.avg()::int')).toEqual([
            { kind: 'field', field: { name: 'total', jsonPath: [] }, aggregate: 'sum' },
            { kind: 'count', alias: 'n' },
            { kind: 'field', field: { name: 'price', jsonPath: [] }, aggregate: 'avg', aggregateCast: 'int' },
        ]);
    });

    it('accepts an empty embed and quoted names', () => {
        expect(parseSelect('"my col",orders()')).toEqual([
            { kind: 'field', field: { name: 'my col', jsonPath: [] } },
            { kind: 'embed', name: 'orders', spread: false, children: [] },
        ]);
    });

    it('reports a stray parenthesis as PGRST100 with the position', () => {
        try {
            parseSelect('id,name)');
            expect.unreachable();
        } catch (error) {
            expect(error).toBeInstanceOf(ApiError);
            expect((error as ApiError).body()).toEqual({
                code: 'PGRST100',
                details: 'unexpected ")" expecting "," or end of input',
                hint: null,
                message: '"failed to parse select parameter (id,name))" (line 1, column 8)',
            });
        }
    });
});

describe('filters', () => {
    it('parses simple operators, negation and quantifiers', () => {
        expect(parseFilterValue('a', 'eq.5')).toMatchObject({ negated: false, expr: { kind: 'simple', op: 'eq', value: '5' } });
        expect(parseFilterValue('a', 'not.like.*x*')).toMatchObject({ negated: true, expr: { kind: 'simple', op: 'like', value: '*x*' } });
        expect(parseFilterValue('a', 'like(any).{a*,b*}')).toMatchObject({ expr: { kind: 'simple', op: 'like', quantifier: 'any', value: '{a*,b*}' } });
    });

    it('keeps dots and commas in a top-level value', () => {
        expect(parseFilterValue('a', 'eq.1.5,2')).toMatchObject({ expr: { value: '1.5,2' } });
    });

    it('parses in lists with quoted values', () => {
        expect(parseFilterValue('a', 'in.(1,"a,b",c)')).toMatchObject({ expr: { kind: 'in', values: ['1', 'a,b', 'c'] } });
    });

    it('parses is values case-insensitively and fts with a language', () => {
        expect(parseFilterValue('a', 'is.NULL')).toMatchObject({ expr: { kind: 'is', value: 'null' } });
        expect(parseFilterValue('a', 'fts(english).tea')).toMatchObject({ expr: { kind: 'fts', op: 'fts', language: 'english', value: 'tea' } });
    });

    it('splits embed paths and JSON paths in keys', () => {
        expect(parseFilterKey('orders.items.qty')).toEqual({ path: ['orders', 'items'], field: { name: 'qty', jsonPath: [] } });
        expect(parseFilterKey('meta->>color')).toEqual({ path: [], field: { name: 'meta', jsonPath: [{ arrow: '->>', key: 'color', index: false }] } });
    });

    it('rejects an unknown operator with PGRST100', () => {
        expect(() => parseFilterValue('a', 'xx.1')).toThrowError(/failed to parse filter \(xx\.1\)/);
    });
});

describe('logic trees and order', () => {
    it('parses nested and/or with quoted values', () => {
        expect(parseLogic('or', false, '(a.eq.1,and(b.gt.2,c.in.(x,y)),d.eq."p,q")')).toEqual({
            kind: 'expr',
            negated: false,
            op: 'or',
            children: [
                { kind: 'filter', path: [], filter: { field: { name: 'a', jsonPath: [] }, negated: false, expr: { kind: 'simple', op: 'eq', value: '1' } } },
                {
                    kind: 'expr',
                    negated: false,
                    op: 'and',
                    children: [
                        { kind: 'filter', path: [], filter: { field: { name: 'b', jsonPath: [] }, negated: false, expr: { kind: 'simple', op: 'gt', value: '2' } } },
                        { kind: 'filter', path: [], filter: { field: { name: 'c', jsonPath: [] }, negated: false, expr: { kind: 'in', values: ['x', 'y'] } } },
                    ],
                },
                { kind: 'filter', path: [], filter: { field: { name: 'd', jsonPath: [] }, negated: false, expr: { kind: 'simple', op: 'eq', value: 'p,q' } } },
            ],
        });
    });

    it('parses order terms with direction, nulls and related columns', () => {
        expect(parseOrder('a.desc.nullslast,b,brand(name).asc')).toEqual([
            { field: { name: 'a', jsonPath: [] }, direction: 'desc', nulls: 'last' },
            { field: { name: 'b', jsonPath: [] } },
            { relation: 'brand', field: { name: 'name', jsonPath: [] }, direction: 'asc' },
        ]);
    });

    it('rejects a bad direction with PGRST100', () => {
        expect(() => parseOrder('a.sideways')).toThrowError(ApiError);
    });
});
