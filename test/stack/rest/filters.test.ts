// Horizontal filtering: every operator PostgREST documents (docs/rest.md), modifiers, negation, logic trees,
// quoting — through supabase-js and, where the client cannot express it, raw query strings.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

async function ids(query: PromiseLike<{ data: unknown; error: unknown }>): Promise<number[]> {
    const { data, error } = await query;
    expect(error).toBeNull();
    return (data as Array<{ id: number }>).map((r) => r.id);
}

async function rawIds(path: string): Promise<number[]> {
    const res = await rest.raw(path);
    const body = await res.text();
    expect(res.status, body).toBe(200);
    return (JSON.parse(body) as Array<{ id: number }>).map((r) => r.id);
}

const customers = () => rest.anonClient().from('customers').select('id').order('id');
const orders = () => rest.anonClient().from('orders').select('id').order('id');
const products = () => rest.anonClient().from('products').select('id').order('id');
const kinds = () => rest.anonClient().from('kinds').select('id').order('id');

describe('comparison operators', () => {
    it('eq', async () => {
        expect(await ids(customers().eq('name', 'Bob'))).toEqual([2]);
    });

    it('eq with a value containing a comma and a dot', async () => {
        expect(await ids(customers().eq('name', 'Eve, Jr.'))).toEqual([5]);
    });

    it('eq on an enum, a boolean and a uuid', async () => {
        expect(await ids(customers().eq('tier', 'gold'))).toEqual([1, 3]);
        expect(await ids(kinds().eq('flag', false))).toEqual([2]);
        expect(await ids(kinds().eq('uid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'))).toEqual([1]);
    });

    it('neq (nulls never match)', async () => {
        expect(await ids(customers().neq('tier', 'gold'))).toEqual([2, 4]);
    });

    it('gt, gte, lt, lte on numeric', async () => {
        expect(await ids(orders().gt('total', 12))).toEqual([1, 3]);
        expect(await ids(orders().gte('total', 12))).toEqual([1, 2, 3]);
        expect(await ids(orders().lt('total', 12))).toEqual([4]);
        expect(await ids(orders().lte('total', 12))).toEqual([2, 4]);
    });

    it('numeric equality ignores trailing zeros', async () => {
        expect(await ids(orders().eq('total', 30.5))).toEqual([1]);
        expect(await ids(orders().eq('total', '99.990'))).toEqual([3]);
    });

    it('comparison on timestamps', async () => {
        expect(await ids(orders().gte('placed_at', '2024-06-03T00:00:00Z'))).toEqual([3, 4]);
    });

    it('two filters on the same column are ANDed', async () => {
        expect(await rawIds('/customers?select=id&id=gt.1&id=lt.4&order=id')).toEqual([2, 3]);
    });

    it('match() adds one eq per key', async () => {
        expect(await ids(customers().match({ tier: 'gold', nickname: 'Caz' }))).toEqual([3]);
    });
});

describe('pattern operators', () => {
    it('like is case sensitive, % wildcard', async () => {
        expect(await ids(customers().like('name', '%a%'))).toEqual([3, 4]);
    });

    it('like accepts * for %', async () => {
        expect(await rawIds('/customers?select=id&name=like.*ob&order=id')).toEqual([2]);
    });

    it('ilike is case insensitive', async () => {
        expect(await ids(customers().ilike('name', '%A%'))).toEqual([1, 3, 4]);
        expect(await rawIds('/customers?select=id&name=ilike.*A*&order=id')).toEqual([1, 3, 4]);
    });

    it('match and imatch are POSIX regular expressions', async () => {
        expect(await ids(customers().regexMatch('name', '^[AB]'))).toEqual([1, 2]);
        expect(await ids(customers().regexMatch('name', '^[ab]'))).toEqual([]);
        expect(await ids(customers().regexIMatch('name', '^[ab]'))).toEqual([1, 2]);
    });

    it('like(any) and like(all)', async () => {
        expect(await ids(customers().likeAnyOf('name', ['A%', '%ve']))).toEqual([1, 4]);
        expect(await ids(customers().likeAllOf('name', ['%a%', '%e']))).toEqual([4]);
        expect(await rawIds('/customers?select=id&name=like(any).{A*,*ve}&order=id')).toEqual([1, 4]);
    });

    it('ilike(any) and ilike(all)', async () => {
        expect(await ids(customers().ilikeAllOf('name', ['%a%', '%e']))).toEqual([1, 4]);
        expect(await ids(customers().ilikeAnyOf('name', ['b%', 'c%']))).toEqual([2, 3]);
    });
});

describe('is and isdistinct', () => {
    it('is null / not.is.null', async () => {
        expect(await ids(customers().is('nickname', null))).toEqual([2, 4]);
        expect(await ids(customers().not('nickname', 'is', null))).toEqual([1, 3, 5]);
    });

    it('is true / false / unknown on booleans', async () => {
        expect(await ids(kinds().is('flag', true))).toEqual([1]);
        expect(await ids(kinds().is('flag', false))).toEqual([2]);
        expect(await rawIds('/kinds?select=id&flag=is.unknown&order=id')).toEqual([3]);
    });

    it('is.not_null', async () => {
        expect(await rawIds('/customers?select=id&nickname=is.not_null&order=id')).toEqual([1, 3, 5]);
    });

    it('isdistinct treats null as a value', async () => {
        expect(await ids(customers().isDistinct('tier', 'gold'))).toEqual([2, 4, 5]);
    });
});

describe('in', () => {
    it('in a list of numbers', async () => {
        expect(await ids(customers().in('id', [1, 3, 5]))).toEqual([1, 3, 5]);
    });

    it('values with reserved characters are double-quoted', async () => {
        expect(await ids(customers().in('name', ['Eve, Jr.', 'Bob']))).toEqual([2, 5]);
        expect(await rawIds('/customers?select=id&name=in.("Eve, Jr.",Alice)&order=id')).toEqual([1, 5]);
    });

    it('notIn / not.in', async () => {
        expect(await ids(customers().notIn('id', [1, 2]))).toEqual([3, 4, 5]);
        expect(await ids(customers().not('id', 'in', '(1,2,3)'))).toEqual([4, 5]);
    });

    it('an empty in list matches nothing', async () => {
        expect(await rawIds('/customers?select=id&id=in.()')).toEqual([]);
    });
});

describe('array, json and range operators', () => {
    it('cs / cd / ov on arrays', async () => {
        expect(await ids(customers().contains('tags', ['vip']))).toEqual([1, 3]);
        expect(await ids(customers().contains('tags', ['vip', 'early']))).toEqual([1]);
        expect(await ids(customers().containedBy('tags', ['vip', 'early', 'new']))).toEqual([1, 2, 3, 4, 5]);
        expect(await ids(customers().containedBy('tags', ['vip']))).toEqual([3, 4]);
        expect(await ids(customers().overlaps('tags', ['new', 'early']))).toEqual([1, 2, 5]);
    });

    it('eq and not.cs on arrays', async () => {
        expect(await ids(customers().eq('tags', '{vip}'))).toEqual([3]);
        expect(await ids(customers().not('tags', 'cs', '{vip}'))).toEqual([2, 4, 5]);
    });

    it('cs / cd on jsonb', async () => {
        expect(await ids(customers().contains('meta', { color: 'red' }))).toEqual([1, 4]);
        expect(await ids(customers().containedBy('meta', { color: 'red', rank: 3 }))).toEqual([4]);
        expect(await rawIds('/products?select=id&attrs=cs.{"origin":"CN"}&order=id')).toEqual([4]);
    });

    it('cs on integer arrays with the string form', async () => {
        expect(await ids(products().contains('sizes', '{2}'))).toEqual([1, 2]);
    });

    it('sl: strictly left of', async () => {
        expect(await ids(kinds().rangeLt('seats', '[6,8)'))).toEqual([1]);
    });

    it('sr: strictly right of', async () => {
        expect(await ids(kinds().rangeGt('seats', '[6,8)'))).toEqual([2]);
    });

    it('nxr: does not extend to the right of (&<)', async () => {
        expect(await ids(kinds().rangeLte('seats', '[1,10)'))).toEqual([1, 3]);
    });

    it('nxl: does not extend to the left of (&>)', async () => {
        expect(await ids(kinds().rangeGte('seats', '[5,100)'))).toEqual([2, 3]);
    });

    it('adj: adjacent to', async () => {
        expect(await ids(kinds().rangeAdjacent('seats', '[10,15)'))).toEqual([3]);
    });

    it('ov and cs on ranges', async () => {
        expect(await ids(kinds().overlaps('seats', '[4,6)'))).toEqual([1, 3]);
        expect(await ids(kinds().contains('seats', '[6,8)'))).toEqual([3]);
    });

    it('range operators on tstzrange', async () => {
        expect(await ids(kinds().overlaps('during', '[2024-01-15T00:00:00Z,2024-03-15T00:00:00Z)'))).toEqual([1, 2]);
    });
});

describe('full-text search', () => {
    it('fts uses to_tsquery', async () => {
        expect(await ids(products().textSearch('search', 'tea', { config: 'english' }))).toEqual([1, 2, 4]);
        expect(await ids(products().textSearch('search', "'green' & 'tea'", { config: 'english' }))).toEqual([1]);
    });

    it('fts without a config', async () => {
        expect(await rawIds('/products?select=id&search=fts.coffee&order=id')).toEqual([3]);
    });

    it('plfts uses plainto_tsquery', async () => {
        expect(await ids(products().textSearch('search', 'black tea', { type: 'plain', config: 'english' }))).toEqual([2]);
    });

    it('phfts uses phraseto_tsquery', async () => {
        expect(await ids(products().textSearch('search', 'green tea', { type: 'phrase', config: 'english' }))).toEqual([1]);
        expect(await ids(products().textSearch('search', 'tea green', { type: 'phrase', config: 'english' }))).toEqual([]);
    });

    it('wfts uses websearch_to_tsquery', async () => {
        expect(await ids(products().textSearch('search', 'tea -black', { type: 'websearch', config: 'english' }))).toEqual([1, 4]);
    });

    it('not.fts negates', async () => {
        expect(await rawIds('/products?select=id&search=not.fts(english).tea&order=id')).toEqual([3]);
    });
});

describe('negation and logic trees', () => {
    it('not.<op> negates any operator', async () => {
        expect(await ids(customers().not('name', 'eq', 'Bob'))).toEqual([1, 3, 4, 5]);
        expect(await ids(customers().not('name', 'like', '%e%'))).toEqual([2, 3]);
    });

    it('or', async () => {
        expect(await ids(customers().or('name.eq.Bob,tier.eq.gold'))).toEqual([1, 2, 3]);
    });

    it('or with a nested and', async () => {
        expect(await ids(customers().or('name.eq.Dave,and(tier.eq.gold,nickname.eq.Caz)'))).toEqual([3, 4]);
    });

    it('and with a nested or', async () => {
        expect(await rawIds('/customers?select=id&and=(id.gt.1,or(tier.eq.gold,nickname.is.null))&order=id')).toEqual([2, 3, 4]);
    });

    it('not.or and not.and', async () => {
        expect(await rawIds('/customers?select=id&not.or=(tier.eq.gold,tier.is.null)&order=id')).toEqual([2, 4]);
        expect(await rawIds('/customers?select=id&not.and=(tier.eq.gold,id.eq.1)&order=id')).toEqual([2, 3, 4, 5]);
    });

    it('negated conditions inside or', async () => {
        expect(await ids(customers().or('tier.not.eq.gold,id.eq.1'))).toEqual([1, 2, 4]);
    });

    it('quoted values and in lists inside or', async () => {
        expect(await ids(customers().or('name.eq."Eve, Jr.",name.eq.Bob'))).toEqual([2, 5]);
        expect(await ids(customers().or('id.in.(1,2),name.eq.Dave'))).toEqual([1, 2, 4]);
    });

    it('or combined with other filters is ANDed', async () => {
        expect(await ids(customers().or('tier.eq.gold,tier.eq.silver').gt('id', 1))).toEqual([2, 3]);
    });

    it('or with operators like is, cs, fts', async () => {
        expect(await ids(customers().or('nickname.is.null,tags.cs.{early}'))).toEqual([1, 2, 4, 5]);
        expect(await ids(products().or('search.fts(english).coffee,stock.is.null'))).toEqual([3, 4]);
    });

    it('or with like patterns using *', async () => {
        expect(await ids(customers().or('name.ilike.*li*,name.like.*ob*'))).toEqual([1, 2]);
    });

    it('three levels of nested logic', async () => {
        expect(await ids(customers().or('and(id.gt.1,or(tier.eq.gold,and(tier.is.null,nickname.eq.E))),id.eq.1'))).toEqual([1, 3, 5]);
    });

    it('in and is.null on JSON paths', async () => {
        expect(await ids(customers().in('meta->>color', ['red', 'green']))).toEqual([1, 4, 5]);
        expect(await ids(customers().is('meta->>color', null))).toEqual([3]);
    });

    it('_ is the single-character wildcard of like/ilike', async () => {
        expect(await ids(customers().ilike('name', 'b_b'))).toEqual([2]);
    });

    it('a long in list', async () => {
        const values = Array.from({ length: 500 }, (_, i) => i * 2 + 1);
        const { count, error } = await rest.anonClient().from('numbers').select('n', { count: 'exact', head: true }).in('n', values);
        expect(error).toBeNull();
        expect(count).toBe(500);
    });

    it('or on a JSON path', async () => {
        expect(await ids(customers().or('meta->>color.eq.blue,meta->>color.eq.green'))).toEqual([2, 5]);
    });

    it('filter() passes the operator through', async () => {
        expect(await ids(customers().filter('tags', 'cs', '{vip}'))).toEqual([1, 3]);
        expect(await ids(customers().filter('id', 'not.in', '(1,2,3,4)'))).toEqual([5]);
    });
});
