// The order emails, as plain functions of the order: order confirmation, payment failed,
// shipped (with tracking), refund issued. Each renders a subject, a text part and an HTML
// part, with the order's lines and totals in the shop's currency format. Everything that
// comes from the order is HTML-escaped in the HTML part.
import { formatMoney } from '../_shared/money.ts';
import type { OrderSnapshot } from '../_shared/orders.ts';

export const TEMPLATES = ['order_confirmation', 'payment_failed', 'order_shipped', 'refund_issued'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export interface Shop {
    name: string;
    /** BCP 47 locale for money and dates, e.g. en-US, de-DE. */
    locale: string;
}

export interface EmailContent {
    subject: string;
    text: string;
    html: string;
}

export type TemplateData =
    | { template: 'order_confirmation' }
    | { template: 'payment_failed'; message: string | null }
    | { template: 'order_shipped'; tracking_number: string | null }
    | { template: 'refund_issued'; amount_refunded: number };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function money(order: OrderSnapshot, shop: Shop, amount: number): string {
    return formatMoney(amount, order.currency, shop.locale);
}

/** The lines and totals block, as text and as an HTML table. */
function summary(order: OrderSnapshot, shop: Shop): { text: string; html: string } {
    const totals: Array<[string, number]> = [['Subtotal', order.subtotal_amount]];
    if (order.discount_amount) totals.push(['Discount', -order.discount_amount]);
    if (order.shipping_amount) totals.push(['Shipping', order.shipping_amount]);
    if (order.tax_amount) totals.push(['Tax', order.tax_amount]);
    totals.push(['Total', order.total_amount]);
    const fmt = (amount: number) => (amount < 0 ? `-${money(order, shop, -amount)}` : money(order, shop, amount));

    const text = [
        ...order.lines.map((l) => `${l.quantity} × ${l.name} (${l.sku}) @ ${money(order, shop, l.unit_price_amount)} = ${money(order, shop, l.line_total_amount)}`),
        '',
        ...totals.map(([label, amount]) => `${label}: ${fmt(amount)}`),
    ].join('\n');

    const cell = 'style="padding:4px 8px;border-bottom:1px solid #eee"';
    const right = 'style="padding:4px 8px;border-bottom:1px solid #eee;text-align:right"';
    const html = [
        '<table style="border-collapse:collapse;width:100%">',
        `<thead><tr><th ${cell}>Item</th><th ${right}>Qty</th><th ${right}>Price</th><th ${right}>Total</th></tr></thead>`,
        '<tbody>',
        ...order.lines.map(
            (l) =>
                `<tr><td ${cell}>${escapeHtml(l.name)} <small>(${escapeHtml(l.sku)})</small></td><td ${right}>${l.quantity}</td><td ${right}>${escapeHtml(money(order, shop, l.unit_price_amount))}</td><td ${right}>${escapeHtml(money(order, shop, l.line_total_amount))}</td></tr>`,
        ),
        '</tbody>',
        '<tfoot>',
        ...totals.map(([label, amount]) => `<tr><td colspan="3" ${right}>${label === 'Total' ? `<strong>${label}</strong>` : label}</td><td ${right}>${label === 'Total' ? `<strong>${escapeHtml(fmt(amount))}</strong>` : escapeHtml(fmt(amount))}</td></tr>`),
        '</tfoot>',
        '</table>',
    ].join('\n');
    return { text, html };
}

function page(shop: Shop, title: string, paragraphs: string[], body: string): string {
    return [
        '<!doctype html>',
        `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
        '<body style="font-family:system-ui,sans-serif;color:#222;max-width:600px;margin:auto">',
        `<h1 style="font-size:20px">${escapeHtml(title)}</h1>`,
        ...paragraphs.map((p) => `<p>${p}</p>`),
        body,
        `<p style="color:#888;font-size:12px">${escapeHtml(shop.name)}</p>`,
        '</body></html>',
    ].join('\n');
}

const greeting = (order: OrderSnapshot) => (order.customer_name ? `Hello ${order.customer_name},` : 'Hello,');

export function renderEmail(order: OrderSnapshot, data: TemplateData, shop: Shop): EmailContent {
    const lines = summary(order, shop);
    const hello = greeting(order);
    switch (data.template) {
        case 'order_confirmation': {
            const subject = `${shop.name}: order ${order.number} confirmed`;
            const intro = `Thank you for your order ${order.number}. We received your payment of ${money(order, shop, order.total_amount)} and are preparing your parcel.`;
            return {
                subject,
                text: [hello, '', intro, '', lines.text, '', `— ${shop.name}`].join('\n'),
                html: page(shop, `Order ${order.number} confirmed`, [escapeHtml(hello), escapeHtml(intro)], lines.html),
            };
        }
        case 'payment_failed': {
            const subject = `${shop.name}: payment for order ${order.number} failed`;
            const reason = data.message ? ` The payment provider said: “${data.message}”.` : '';
            const intro = `We could not take the payment of ${money(order, shop, order.total_amount)} for your order ${order.number}.${reason} Your items stay reserved for a while: please try again with another payment method.`;
            return {
                subject,
                text: [hello, '', intro, '', lines.text, '', `— ${shop.name}`].join('\n'),
                html: page(shop, `Payment for order ${order.number} failed`, [escapeHtml(hello), escapeHtml(intro)], lines.html),
            };
        }
        case 'order_shipped': {
            const subject = `${shop.name}: order ${order.number} has shipped`;
            const tracking = data.tracking_number ?? order.tracking_number;
            const intro = `Your order ${order.number} is on its way.`;
            const track = tracking ? `Tracking number: ${tracking}` : 'Your parcel has no tracking number.';
            return {
                subject,
                text: [hello, '', intro, track, '', lines.text, '', `— ${shop.name}`].join('\n'),
                html: page(shop, `Order ${order.number} has shipped`, [escapeHtml(hello), escapeHtml(intro), tracking ? `Tracking number: <strong>${escapeHtml(tracking)}</strong>` : escapeHtml(track)], lines.html),
            };
        }
        case 'refund_issued': {
            const subject = `${shop.name}: refund for order ${order.number}`;
            const intro = `We refunded ${money(order, shop, data.amount_refunded)} of your order ${order.number} (total ${money(order, shop, order.total_amount)}). Depending on your bank it may take a few days to appear.`;
            return {
                subject,
                text: [hello, '', intro, '', lines.text, '', `— ${shop.name}`].join('\n'),
                html: page(shop, `Refund for order ${order.number}`, [escapeHtml(hello), escapeHtml(intro)], lines.html),
            };
        }
    }
}
