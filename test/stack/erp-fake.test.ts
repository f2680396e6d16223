// The ERP fake speaks Odoo 19's JSON-2 (and the legacy /jsonrpc) as external clients see
// it — bearer key, params by name, bare return values, Odoo's error bodies and statuses —
// plus the generic adapter's API with Idempotency-Key; it fails on purpose when told to and
// reports what it received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NO_FAULTS, startErpFake, type ErpFake } from '../../stack/fakes/erp/index.js';

let fake: ErpFake;

beforeAll(async () => {
    fake = await startErpFake({ apiKey: 'k3y', database: 'shop', login: 'api@shop.test' });
});
afterAll(async () => {
    await fake.close();
});
beforeEach(() => {
    fake.reset();
});

async function json2(model: string, method: string, body: unknown, key = 'k3y'): Promise<{ status: number; body: any }> {
    const response = await fetch(`${fake.url}/json/2/${model}/${method}`, {
        method: 'POST',
        headers: { authorization: `bearer ${key}`, 'content-type': 'application/json', 'x-odoo-database': 'shop' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
}

async function rpc(service: string, method: string, args: unknown[]): Promise<any> {
    const response = await fetch(`${fake.url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: 7 }) });
    expect(response.status).toBe(200);
    return response.json();
}

describe('Odoo JSON-2', () => {
    it('creates and reads records: ids back from create, many2one as [id, name], search by domain', async () => {
        const partner = await json2('res.partner', 'create', { vals_list: [{ name: 'Ada', email: 'ada@example.test' }] });
        expect(partner).toEqual({ status: 200, body: [1] });
        const product = await json2('product.product', 'create', { vals_list: [{ name: 'Tee', default_code: 'TEE-M' }] });
        const order = await json2('sale.order', 'create', {
            vals_list: [{ partner_id: 1, client_order_ref: 'TB-1', order_line: [[0, 0, { product_id: product.body[0], product_uom_qty: 2, price_unit: 47.5 }]] }],
        });
        expect(order.status).toBe(200);
        const found = await json2('sale.order', 'search_read', { domain: [['client_order_ref', '=', 'TB-1']], fields: ['name', 'partner_id', 'state', 'amount_total'], limit: 1 });
        expect(found.body).toEqual([{ id: order.body[0], name: 'S00001', partner_id: [1, 'Ada'], state: 'draft', amount_total: 95 }]);
        expect((await json2('sale.order', 'action_confirm', { ids: order.body })).body).toBe(true);
        expect((await json2('sale.order', 'read', { ids: order.body, fields: ['state'] })).body).toEqual([{ id: order.body[0], state: 'sale' }]);
        expect((await json2('res.partner', 'search_count', { domain: [['email', '=ilike', 'ADA@example.test']] })).body).toBe(1);
    });

    it('answers Odoo errors with their statuses and {name, message, …} bodies', async () => {
        expect(await json2('res.partner', 'search_read', {}, 'wrong')).toMatchObject({ status: 401, body: { name: 'odoo.exceptions.AccessDenied', message: 'Invalid apikey' } });
        expect(await json2('no.such.model', 'search_read', {})).toMatchObject({ status: 404, body: { name: 'werkzeug.exceptions.NotFound' } });
        expect(await json2('res.partner', 'search_read', { domian: [] })).toMatchObject({ status: 422, body: { message: expect.stringContaining("unexpected keyword argument 'domian'") } });
        expect(await json2('res.partner', 'read', { ids: [99], fields: ['name'] })).toMatchObject({ status: 404, body: { name: 'odoo.exceptions.MissingError' } });
        expect(await json2('res.partner', 'search_read', '{not json')).toMatchObject({ status: 400, body: { name: 'werkzeug.exceptions.BadRequest' } });
        const order = await json2('sale.order', 'create', { vals_list: [{ partner_id: (await json2('res.partner', 'create', { vals_list: [{ name: 'B' }] })).body[0] }] });
        // Confirming an order without lines, or twice, is a UserError (422); nothing changes.
        expect(await json2('sale.order', 'action_confirm', { ids: order.body })).toMatchObject({ status: 422, body: { name: 'odoo.exceptions.UserError' } });
        expect((await json2('sale.order', 'read', { ids: order.body, fields: ['state'] })).body).toEqual([{ id: order.body[0], state: 'draft' }]);
    });

    it('answers /web/version with 19.0', async () => {
        expect(await (await fetch(`${fake.url}/web/version`)).json()).toMatchObject({ version: '19.0' });
    });
});

describe('legacy /jsonrpc', () => {
    it('authenticates for a uid, then runs execute_kw with positional arguments; errors come inside a 200', async () => {
        expect((await rpc('common', 'authenticate', ['shop', 'api@shop.test', 'wrong', {}])).result).toBe(false);
        const uid = (await rpc('common', 'authenticate', ['shop', 'api@shop.test', 'k3y', {}])).result;
        expect(uid).toBe(2);
        expect((await rpc('object', 'execute_kw', ['shop', uid, 'k3y', 'res.partner', 'create', [[{ name: 'Ada', email: 'ada@x.test' }]], {}])).result).toEqual([1]);
        expect((await rpc('object', 'execute_kw', ['shop', uid, 'k3y', 'res.partner', 'search_read', [[['email', '=', 'ada@x.test']]], { fields: ['name'] }])).result).toEqual([{ id: 1, name: 'Ada' }]);
        expect(await rpc('object', 'execute_kw', ['shop', uid, 'k3y', 'res.partner', 'read', [[42]], { fields: ['name'] }])).toMatchObject({
            error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.MissingError' } },
        });
        expect(await rpc('object', 'execute_kw', ['shop', uid, 'bad', 'res.partner', 'search_read', [[]], {}])).toMatchObject({ error: { data: { name: 'odoo.exceptions.AccessDenied' } } });
    });
});

describe('generic order API', () => {
    const post = (key: string | null, body: unknown, token = 'k3y') =>
        fetch(`${fake.url}/api/v1/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
            body: JSON.stringify(body),
        });
    const order = { number: 'TB-9', status: 'paid', currency: 'EUR', total_amount: 4700, customer: { email: 'a@b.test' }, lines: [{ sku: 'TEE', quantity: 1, unit_price_amount: 4700 }] };

    it('applies a key once (a repeat is answered from its record) and refuses a key reused for another body', async () => {
        const first = await post('key-1', order);
        expect(first.status).toBe(201);
        const again = await post('key-1', order);
        expect(again.status).toBe(201);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect(await again.json()).toEqual(await first.json());
        expect((await post('key-1', { ...order, total_amount: 1 })).status).toBe(422);
        const update = await post('key-2', { ...order, status: 'fulfilled' });
        expect(update.status).toBe(200);
        expect(await update.json()).toMatchObject({ id: 'ERP-1', versions: 2, status: 'fulfilled' });
        expect(fake.report()).toMatchObject({ http_orders: 1, http_replayed_keys: 1 });
    });

    it('requires the token and an Idempotency-Key, and validates the order', async () => {
        expect((await post('k', order, 'nope')).status).toBe(401);
        expect((await post(null, order)).status).toBe(400);
        expect((await post('k', { ...order, lines: [] })).status).toBe(422);
        expect(fake.report().http_orders).toBe(0);
    });
});

describe('fault injection and the report', () => {
    it('error_rate 1 answers 503 without doing the call; down drops connections; timeouts carry the call out and never answer; error_after carries it out and answers 502', async () => {
        fake.setFaults({ error_rate: 1 });
        expect(await json2('res.partner', 'create', { vals_list: [{ name: 'X' }] })).toMatchObject({ status: 503 });
        expect(fake.store.rows('res.partner')).toHaveLength(0);

        fake.setFaults({ ...NO_FAULTS, down: true });
        await expect(json2('res.partner', 'search_read', {})).rejects.toThrow();

        fake.setFaults({ ...NO_FAULTS, timeout_rate: 1, hang_ms: 200 });
        await expect(json2('res.partner', 'create', { vals_list: [{ name: 'Y' }] })).rejects.toThrow();
        expect(fake.store.rows('res.partner').map((p) => p.name)).toEqual(['Y']);
        fake.setFaults({ ...NO_FAULTS, error_after_rate: 1 });
        expect(await json2('res.partner', 'create', { vals_list: [{ name: 'W' }] })).toMatchObject({ status: 502 });
        expect(fake.store.rows('res.partner').map((p) => p.name)).toEqual(['Y', 'W']);
        expect(fake.report().faults).toEqual({ error: 1, error_after: 1, timeout: 1, down: 1 });
    });

    it('limits faults to the calls named, and takes settings through the admin API, refusing bad ones', async () => {
        const put = (body: unknown) => fetch(`${fake.url}/__admin/faults`, { method: 'PUT', body: JSON.stringify(body) });
        expect((await put({ error_rate: 2 })).status).toBe(400);
        expect((await put({ error_rate: 1, calls: ['sale.order.create'] })).status).toBe(200);
        expect((await json2('res.partner', 'create', { vals_list: [{ name: 'Z' }] })).status).toBe(200);
        expect((await json2('sale.order', 'create', { vals_list: [{ partner_id: 1 }] })).status).toBe(503);
    });

    it('reports a client_order_ref that became two sale orders', async () => {
        await json2('res.partner', 'create', { vals_list: [{ name: 'P' }] });
        await json2('sale.order', 'create', { vals_list: [{ partner_id: 1, client_order_ref: 'TB-2' }, { partner_id: 1, client_order_ref: 'TB-2' }] });
        expect(fake.report().duplicate_orders).toEqual([{ client_order_ref: 'TB-2', count: 2 }]);
    });
});
