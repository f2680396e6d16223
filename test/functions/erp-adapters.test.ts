// The ERP adapters against HTTP servers: the Odoo adapter over both transports finds or
// creates the partner, products and the sale order (by client_order_ref) and confirms it
// once; listStock reads stock.quant; an answer of the wrong shape is an ErpError (nothing
// unvalidated gets through); Odoo's statuses map to retry or dead letter; the env decides
// the adapter and names a missing key.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErpError, type ErpOrder } from '../../functions/_shared/erp/adapter.ts';
import { createErpAdapter, ErpEnv } from '../../functions/_shared/erp/config.ts';
import { createOdooAdapter } from '../../functions/_shared/erp/odoo.ts';
import { readEnv } from '../../functions/_shared/env.ts';
import { startErpFake, type ErpFake } from '../../stack/fakes/erp/index.js';

let fake: ErpFake;
let junk: http.Server;
let junkUrl = '';
let junkAnswer: { status: number; body: string } = { status: 200, body: '{}' };

const order = (number: string): ErpOrder => ({
    id: '3f2a1c4e-9b7d-4e8f-a1b2-c3d4e5f60718',
    number,
    version: 1,
    status: 'paid',
    payment_status: 'captured',
    fulfillment_status: 'unfulfilled',
    currency: 'JPY',
    subtotal_amount: 9_000,
    discount_amount: 0,
    shipping_amount: 0,
    tax_amount: 0,
    total_amount: 9_000,
    email: 'kenji@example.test',
    customer_name: 'Kenji',
    tracking_number: null,
    shipping_address: null,
    placed_at: '2026-11-26T10:00:00Z',
    lines: [
        { sku: 'CUP-1', name: 'Cup', quantity: 2, unit_price_amount: 3_000, line_total_amount: 6_000 },
        { sku: 'POT-1', name: 'Pot', quantity: 1, unit_price_amount: 3_000, line_total_amount: 3_000 },
    ],
});

beforeAll(async () => {
    fake = await startErpFake({ apiKey: 'odoo-key', database: 'odoo', login: 'api@shop.test' });
    junk = http.createServer((_req, res) => {
        res.writeHead(junkAnswer.status, { 'content-type': 'application/json' });
        res.end(junkAnswer.body);
    });
    await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve));
    junkUrl = `http://127.0.0.1:${(junk.address() as AddressInfo).port}`;
});

afterAll(async () => {
    await fake.close();
    await new Promise((resolve) => junk.close(resolve));
});

const odoo = (protocol: 'json2' | 'jsonrpc', url = fake.url, createMissingProducts = false) =>
    createOdooAdapter({ url, database: 'odoo', apiKey: 'odoo-key', login: 'api@shop.test', protocol, createMissingProducts, timeoutMs: 1_000 });

describe.each(['json2', 'jsonrpc'] as const)('Odoo adapter over %s', (protocol) => {
    it('finds the partner by email and the products by default_code, creates the order by client_order_ref and confirms it, once', async () => {
        fake.reset();
        await fetch(`${fake.url}/__admin/products`, { method: 'POST', body: JSON.stringify({ products: [{ default_code: 'CUP-1', name: 'Cup' }, { default_code: 'POT-1', name: 'Pot', quantity: 7 }] }) });
        await fetch(`${fake.url}/json/2/res.partner/create`, { method: 'POST', headers: { authorization: 'bearer odoo-key' }, body: JSON.stringify({ vals_list: [{ name: 'Kenji', email: 'kenji@example.test' }] }) });
        const adapter = odoo(protocol);

        const first = await adapter.upsertOrder(order('TB-100'), { idempotencyKey: 'k1' });
        const again = await adapter.upsertOrder(order('TB-100'), { idempotencyKey: 'k1' });
        expect(first).toMatchObject({ erp_document_id: '1', state: 'sale' });
        expect(again).toMatchObject({ erp_document_id: '1', reference: 'S00001', state: 'sale' });
        expect(fake.store.rows('res.partner')).toHaveLength(1);
        const [saved] = ((await (await fetch(`${fake.url}/__admin/orders`)).json()) as { odoo: unknown[] }).odoo;
        // JPY has no minor unit: 3000 minor units are ¥3000.
        expect(saved).toMatchObject({ client_order_ref: 'TB-100', state: 'sale', amount_total: 9000, partner: { email: 'kenji@example.test' } });
        expect(fake.report().by_call['sale.order.action_confirm']).toBe(1);

        expect(await adapter.getOrderStatus('TB-100')).toEqual({ erp_document_id: '1', state: 'sale' });
        expect(await adapter.getOrderStatus('TB-404')).toBeNull();
        expect(await adapter.listStock()).toEqual([{ sku: 'POT-1', on_hand: 7 }]);

        const canceled = await adapter.upsertOrder({ ...order('TB-100'), status: 'canceled' }, { idempotencyKey: 'k2' });
        expect(canceled.state).toBe('cancel');
    });

    it('refuses for good a SKU Odoo does not know (unless told to create it)', async () => {
        fake.reset();
        const error = await odoo(protocol).upsertOrder(order('TB-101'), { idempotencyKey: 'k' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ErpError);
        expect((error as ErpError).retryable).toBe(false);
        expect((error as ErpError).message).toContain('CUP-1');
        expect(fake.store.rows('sale.order')).toHaveLength(0);
        await odoo(protocol, fake.url, true).upsertOrder(order('TB-101'), { idempotencyKey: 'k' });
        expect(fake.store.rows('product.product').map((p) => p.default_code).sort()).toEqual(['CUP-1', 'POT-1']);
    });
});

describe('answers that are not what Odoo sends', () => {
    const attempt = async (body: string, status = 200): Promise<ErpError> => {
        junkAnswer = { status, body };
        const outcome = await odoo('json2', junkUrl).upsertOrder(order('TB-1'), { idempotencyKey: 'k' }).catch((e: unknown) => e);
        if (!(outcome instanceof ErpError)) throw new Error(`expected an ErpError, got ${JSON.stringify(outcome)}`);
        return outcome;
    };

    it('a body of the wrong shape, or no JSON at all, is a retryable ErpError', async () => {
        const wrongShape = await attempt(JSON.stringify([{ id: 'one', name: 5 }]));
        expect(wrongShape).toBeInstanceOf(ErpError);
        expect(wrongShape.message).toContain('unexpected answer');
        expect(wrongShape.retryable).toBe(true);
        const html = await attempt('<html>502 Bad Gateway</html>', 502);
        expect(html).toBeInstanceOf(ErpError);
        expect(html.retryable).toBe(true);
    });

    it('maps Odoo statuses: 5xx and 401/403 retry, 404/422 are permanent', async () => {
        const body = (name: string) => JSON.stringify({ name, message: 'm', arguments: [], context: {}, debug: '' });
        expect((await attempt(body('odoo.exceptions.AccessDenied'), 401)).retryable).toBe(true);
        expect((await attempt(body('odoo.exceptions.AccessError'), 403)).retryable).toBe(true);
        expect((await attempt(body('werkzeug.exceptions.NotFound'), 404)).retryable).toBe(false);
        expect((await attempt(body('odoo.exceptions.ValidationError'), 422)).retryable).toBe(false);
        const server = await attempt(body('builtins.Exception'), 500);
        expect(server.retryable).toBe(true);
        expect(server.transientAnswer).toBe(true);
    });
});

describe('ERP configuration', () => {
    it('builds the adapter the secrets name, and names what is missing', () => {
        const env = readEnv(ErpEnv, { ERP_ADAPTER: 'odoo', ODOO_URL: 'https://shop.odoo.com', ODOO_DATABASE: 'shop', ODOO_API_KEY: 'k' });
        expect(createErpAdapter(env).name).toBe('odoo-json2');
        expect(createErpAdapter(readEnv(ErpEnv, { ERP_ADAPTER: 'http', ERP_HTTP_URL: 'https://erp.test/api', ERP_HTTP_TOKEN: 't' })).name).toBe('http');
        expect(() => readEnv(ErpEnv, { ERP_ADAPTER: 'odoo', ODOO_URL: 'https://shop.odoo.com', ODOO_API_KEY: 'k' })).toThrow('ODOO_DATABASE');
        expect(() => readEnv(ErpEnv, { ERP_ADAPTER: 'odoo', ODOO_URL: 'https://x.test', ODOO_DATABASE: 'd', ODOO_API_KEY: 'k', ODOO_PROTOCOL: 'jsonrpc' })).toThrow('ODOO_LOGIN');
        expect(() => readEnv(ErpEnv, {})).toThrow('ERP_ADAPTER');
    });
});
