// Stripe's form encoding: nested hashes and arrays in brackets.
import { describe, expect, it } from 'vitest';
import { canonicalParams, decodeForm, encodeForm, FormError } from '../../../../stack/fakes/stripe/form.js';

describe('decodeForm', () => {
    it('nests hashes and indexed arrays as the SDK encodes them', () => {
        const body =
            'mode=payment&metadata[order_id]=o1&line_items[0][price_data][currency]=eur&line_items[0][quantity]=2' +
            '&line_items[1][price_data][currency]=eur&line_items[1][quantity]=1&expand[0]=latest_charge';
        expect(decodeForm(body)).toEqual({
            mode: 'payment',
            metadata: { order_id: 'o1' },
            line_items: [
                { price_data: { currency: 'eur' }, quantity: '2' },
                { price_data: { currency: 'eur' }, quantity: '1' },
            ],
            expand: ['latest_charge'],
        });
    });

    it('appends `a[]` values and keeps empty values (Stripe: unset)', () => {
        expect(decodeForm('types[]=a&types[]=b&description=')).toEqual({ types: ['a', 'b'], description: '' });
    });

    it('decodes percent-encoding in names and values', () => {
        expect(decodeForm(encodeForm({ metadata: { 'a b': 'ü & =' } }))).toEqual({ metadata: { 'a b': 'ü & =' } });
    });

    it('refuses a name that mixes a value and nested keys, or malformed brackets', () => {
        expect(() => decodeForm('a=1&a[b]=2')).toThrow(FormError);
        expect(() => decodeForm('a[b=1')).toThrow(FormError);
    });
});

describe('canonicalParams', () => {
    it('is equal for equal parameters in any order and different for different ones', () => {
        expect(canonicalParams(decodeForm('a=1&m[x]=2&m[y]=3'))).toBe(canonicalParams(decodeForm('m[y]=3&a=1&m[x]=2')));
        expect(canonicalParams(decodeForm('a=1'))).not.toBe(canonicalParams(decodeForm('a=2')));
    });
});
