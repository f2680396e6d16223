// The order email templates as plain functions: each renders subject, text and HTML with
// the order's lines and totals in the shop's currency format, and escapes what it quotes.
import { describe, expect, it } from 'vitest';
import { formatMoney, minorDigits, toMajorUnits, toMinorUnits } from '../../functions/_shared/money.ts';
import type { OrderSnapshot } from '../../functions/_shared/orders.ts';
import { renderEmail, TEMPLATES, type TemplateData } from '../../functions/notifications/templates.ts';

const order: OrderSnapshot = {
    id: '8f14e45f-ceea-467f-a0e6-7f1b8f8c2a11',
    number: 'TB-000042',
    version: 3,
    status: 'paid',
    payment_status: 'captured',
    fulfillment_status: 'unfulfilled',
    currency: 'EUR',
    subtotal_amount: 14_100,
    discount_amount: 1_000,
    shipping_amount: 490,
    tax_amount: 0,
    total_amount: 13_590,
    email: 'ada@example.com',
    customer_name: 'Ada <Lovelace>',
    tracking_number: null,
    shipping_address: null,
    placed_at: '2026-11-26T12:00:00Z',
    lines: [
        { sku: 'TEE-M', name: 'Merino Tee — M', quantity: 2, unit_price_amount: 4_700, line_total_amount: 9_400 },
        { sku: 'MUG-1', name: 'Mug "Classic" & Saucer', quantity: 1, unit_price_amount: 4_700, line_total_amount: 4_700 },
    ],
};

const shop = { name: 'Tillbase Shop', locale: 'en-US' };

const data: Record<(typeof TEMPLATES)[number], TemplateData> = {
    order_confirmation: { template: 'order_confirmation' },
    payment_failed: { template: 'payment_failed', message: 'Your card was declined.' },
    order_shipped: { template: 'order_shipped', tracking_number: '1Z999AA10123456784' },
    refund_issued: { template: 'refund_issued', amount_refunded: 4_700 },
};

describe('money', () => {
    it('knows each currency\'s minor digits and formats in the shop\'s locale', () => {
        expect([minorDigits('EUR'), minorDigits('JPY'), minorDigits('BHD')]).toEqual([2, 0, 3]);
        expect(toMajorUnits(13_590, 'EUR')).toBe(135.9);
        expect(toMinorUnits(135.9, 'EUR')).toBe(13_590);
        expect(formatMoney(13_590, 'EUR', 'en-US')).toBe('€135.90');
        expect(formatMoney(13_590, 'EUR', 'de-DE')).toBe('135,90\u00a0€');
        expect(formatMoney(4_500, 'JPY', 'en-US')).toBe('¥4,500');
    });
});

describe('order email templates', () => {
    for (const template of TEMPLATES) {
        it(`${template}: subject with the order number, every line and the totals in text and HTML`, () => {
            const email = renderEmail(order, data[template], shop);
            expect(email.subject).toContain('TB-000042');
            expect(email.subject).toContain('Tillbase Shop');
            for (const part of [email.text, email.html]) {
                expect(part).toContain('TEE-M');
                expect(part).toContain('MUG-1');
                expect(part).toContain('€94.00');
                expect(part).toContain('€141.00'); // subtotal
                expect(part).toContain('-€10.00'); // discount
                expect(part).toContain('€4.90'); // shipping
                expect(part).toContain('€135.90'); // total
            }
            expect(email.text).toContain('2 × Merino Tee — M (TEE-M) @ €47.00 = €94.00');
            expect(email.html).toMatch(/^<!doctype html>/);
        });
    }

    it('escapes names from the order in the HTML part', () => {
        const email = renderEmail(order, data.order_confirmation, shop);
        expect(email.html).toContain('Mug &quot;Classic&quot; &amp; Saucer');
        expect(email.html).toContain('Hello Ada &lt;Lovelace&gt;,');
        expect(email.html).not.toContain('<Lovelace>');
        expect(email.text).toContain('Hello Ada <Lovelace>,');
    });

    it('says what each email is about', () => {
        expect(renderEmail(order, data.payment_failed, shop).text).toContain('Your card was declined.');
        const shipped = renderEmail(order, data.order_shipped, shop);
        expect(shipped.text).toContain('Tracking number: 1Z999AA10123456784');
        expect(shipped.html).toContain('<strong>1Z999AA10123456784</strong>');
        expect(renderEmail(order, data.refund_issued, shop).text).toContain('We refunded €47.00 of your order TB-000042 (total €135.90)');
        expect(renderEmail({ ...order, tracking_number: null }, { template: 'order_shipped', tracking_number: null }, shop).text).toContain('no tracking number');
    });

    it('formats in the shop\'s locale', () => {
        const email = renderEmail(order, data.order_confirmation, { name: 'Laden', locale: 'de-DE' });
        expect(email.text).toContain('135,90\u00a0€');
    });
});
