// Odoo as the shop's ERP. Two transports to the same ORM calls:
//   * JSON-2 (Odoo 19+): POST {url}/json/2/<model>/<method>, `Authorization: bearer <key>`,
//     `X-Odoo-Database`, params by name; 200 = the bare return value; errors are
//     `{name, message, …}` with 400/401/403/404/422/5xx.
//   * legacy /jsonrpc (Odoo ≤ 18, removed in Odoo 22): `common.authenticate` once for the
//     uid, then `object.execute_kw` with positional args; errors inside an HTTP 200.
// The order flow: customer = res.partner by email (or created), lines = product.product by
// default_code = SKU, the order = sale.order by client_order_ref = our order number (or
// created, then confirmed). Odoo has no idempotency keys: that lookup is what makes a retry
// after a timeout find the order the lost call created instead of creating a second one.
// Every response is validated with zod before anything is used.
import { z } from 'zod';
import { toMajorUnits } from '../money.ts';
import { ErpError, erpFetch, readErpJson, retryableStatus, retryTransient, type CallOptions, type ErpAdapter, type ErpDocument, type ErpOrder, type ErpOrderStatus, type ErpStockLevel } from './adapter.ts';

export interface OdooSettings {
    url: string;
    database: string;
    apiKey: string;
    protocol: 'json2' | 'jsonrpc';
    /** /jsonrpc only: the user the API key belongs to. */
    login?: string;
    /** Create a product.product for a SKU Odoo does not know (else: a permanent error). */
    createMissingProducts: boolean;
    timeoutMs: number;
    fetch?: typeof fetch;
}

/** One ORM call: ids, and the method's parameters by name (JSON-2's shape). */
interface OrmCall {
    model: string;
    method: string;
    ids?: number[];
    params?: Record<string, unknown>;
}

type Transport = (call: OrmCall, signal?: AbortSignal) => Promise<unknown>;

const READ_METHODS = new Set(['search_read', 'search', 'read', 'search_count']);

const OdooErrorBody = z.object({ name: z.string(), message: z.string() }).passthrough();
const RpcEnvelope = z.object({
    result: z.unknown().optional(),
    error: z.object({ message: z.string(), data: z.object({ name: z.string(), message: z.string() }).passthrough().optional() }).passthrough().optional(),
});

const Ids = z.array(z.number().int().positive());
const IdOnly = z.array(z.object({ id: z.number().int().positive() }));
const Products = z.array(z.object({ id: z.number().int().positive(), default_code: z.union([z.string(), z.literal(false)]) }));
const SaleOrders = z.array(
    z.object({
        id: z.number().int().positive(),
        name: z.union([z.string(), z.literal(false)]).transform((n) => n || ''),
        // draft | sent | sale | cancel (and done before Odoo 17); anything else is left as it is.
        state: z.string(),
    }),
);
const Many2one = z.union([z.tuple([z.number().int(), z.string()]), z.literal(false)]);
const Quants = z.array(z.object({ id: z.number().int(), product_id: Many2one, quantity: z.number(), reserved_quantity: z.number() }));

/** Odoo exception class → the HTTP status JSON-2 would have used (for the legacy API's 200 errors). */
function statusOfOdooError(name: string): number {
    if (/AccessDenied/.test(name)) return 401;
    if (/AccessError/.test(name)) return 403;
    if (/MissingError|NotFound/.test(name)) return 404;
    if (/UserError|ValidationError|TypeError/.test(name)) return 422;
    if (/BadRequest/.test(name)) return 400;
    return 500;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
    const result = schema.safeParse(value);
    if (!result.success) {
        // An answer of the wrong shape: a different Odoo version or a misrouted URL. Retried
        // (it may be a transient proxy), and dead-lettered after the last attempt.
        throw new ErpError(`${what}: unexpected answer from Odoo (${result.error.issues[0]?.path.join('.') || 'body'}: ${result.error.issues[0]?.message})`, true);
    }
    return result.data;
}

function json2Transport(s: OdooSettings, fetcher: typeof fetch): Transport {
    const base = s.url.replace(/\/+$/, '');
    return async ({ model, method, ids, params = {} }, signal) => {
        const what = `${model}.${method}`;
        const response = await erpFetch(
            fetcher,
            `${base}/json/2/${model}/${method}`,
            {
                method: 'POST',
                headers: {
                    authorization: `bearer ${s.apiKey}`,
                    'content-type': 'application/json',
                    'x-odoo-database': s.database,
                    'user-agent': 'tillbase-erp-sync',
                },
                body: JSON.stringify({ ...(ids ? { ids } : {}), context: {}, ...params }),
            },
            s.timeoutMs,
            signal,
        );
        const body = await readErpJson(response, what);
        if (response.ok) return body;
        const error = OdooErrorBody.safeParse(body);
        const detail = error.success ? `${error.data.name}: ${error.data.message}` : `HTTP ${response.status}`;
        throw new ErpError(`${what}: Odoo answered ${response.status} (${detail})`, retryableStatus(response.status), response.status);
    };
}

/** execute_kw's positional arguments for a call given by name. */
function positional({ method, ids, params = {} }: OrmCall): [unknown[], Record<string, unknown>] {
    const { domain, vals_list, vals, ...rest } = params;
    switch (method) {
        case 'search_read':
        case 'search':
        case 'search_count':
            return [[domain ?? []], rest];
        case 'create':
            return [[vals_list], rest];
        case 'write':
            return [[ids ?? [], vals], rest];
        default:
            return [[ids ?? []], rest];
    }
}

function jsonRpcTransport(s: OdooSettings, fetcher: typeof fetch): Transport {
    const endpoint = `${s.url.replace(/\/+$/, '')}/jsonrpc`;
    let uid: number | undefined;
    let nextId = 1;
    const rpc = async (service: string, method: string, args: unknown[], what: string, signal?: AbortSignal) => {
        const response = await erpFetch(
            fetcher,
            endpoint,
            {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'user-agent': 'tillbase-erp-sync' },
                body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: nextId++ }),
            },
            s.timeoutMs,
            signal,
        );
        const body = await readErpJson(response, what);
        if (!response.ok) throw new ErpError(`${what}: Odoo answered HTTP ${response.status}`, retryableStatus(response.status), response.status);
        const envelope = parse(RpcEnvelope, body, what);
        if (envelope.error) {
            const name = envelope.error.data?.name ?? 'odoo.exceptions.UnknownError';
            const status = statusOfOdooError(name);
            if (status === 401) uid = undefined;
            throw new ErpError(`${what}: ${name}: ${envelope.error.data?.message ?? envelope.error.message}`, retryableStatus(status), status);
        }
        return envelope.result;
    };
    return async (call, signal) => {
        if (uid === undefined) {
            const result = await rpc('common', 'authenticate', [s.database, s.login, s.apiKey, {}], 'common.authenticate', signal);
            if (result === false) throw new ErpError('common.authenticate: Odoo refused the login and API key', true, 401);
            uid = parse(z.number().int().positive(), result, 'common.authenticate');
        }
        const [args, kwargs] = positional(call);
        return rpc('object', 'execute_kw', [s.database, uid, s.apiKey, call.model, call.method, args, kwargs], `${call.model}.${call.method}`, signal);
    };
}

export function createOdooAdapter(settings: OdooSettings): ErpAdapter {
    const fetcher = settings.fetch ?? fetch;
    const transport = settings.protocol === 'jsonrpc' ? jsonRpcTransport(settings, fetcher) : json2Transport(settings, fetcher);
    // Reads have no effect: repeated after any transient failure. Writes are never repeated on
    // their own (Odoo has no idempotency keys, and a 502/504 may follow a commit): the whole
    // upsert runs again instead, and it starts by looking up what the last try left.
    const call: Transport = (orm, signal) =>
        READ_METHODS.has(orm.method) ? retryTransient(() => transport(orm, signal), { signal, safeToRepeat: true }) : transport(orm, signal);

    const findOrder = async (number: string, signal?: AbortSignal) => {
        const found = parse(
            SaleOrders,
            await call({ model: 'sale.order', method: 'search_read', params: { domain: [['client_order_ref', '=', number]], fields: ['id', 'name', 'state'], limit: 1 } }, signal),
            'sale.order.search_read',
        );
        return found[0];
    };

    const partnerFor = async (order: ErpOrder, signal?: AbortSignal): Promise<number> => {
        const found = parse(
            IdOnly,
            await call({ model: 'res.partner', method: 'search_read', params: { domain: [['email', '=', order.email]], fields: ['id'], limit: 1 } }, signal),
            'res.partner.search_read',
        );
        if (found[0]) return found[0].id;
        const created = parse(Ids, await call({ model: 'res.partner', method: 'create', params: { vals_list: [{ name: order.customer_name || order.email, email: order.email }] } }, signal), 'res.partner.create');
        return created[0]!;
    };

    const productsFor = async (order: ErpOrder, signal?: AbortSignal): Promise<Map<string, number>> => {
        const skus = [...new Set(order.lines.map((l) => l.sku))];
        const found = parse(
            Products,
            await call({ model: 'product.product', method: 'search_read', params: { domain: [['default_code', 'in', skus]], fields: ['id', 'default_code'] } }, signal),
            'product.product.search_read',
        );
        const ids = new Map(found.filter((p) => p.default_code !== false).map((p) => [p.default_code as string, p.id]));
        const missing = order.lines.filter((l) => !ids.has(l.sku));
        if (missing.length && !settings.createMissingProducts) {
            throw new ErpError(`Odoo has no product.product with default_code ${missing.map((l) => l.sku).join(', ')}`, false, 404);
        }
        if (missing.length) {
            const unique = [...new Map(missing.map((l) => [l.sku, l])).values()];
            const created = parse(
                Ids,
                await call({ model: 'product.product', method: 'create', params: { vals_list: unique.map((l) => ({ name: l.name, default_code: l.sku, list_price: toMajorUnits(l.unit_price_amount, order.currency) })) } }, signal),
                'product.product.create',
            );
            unique.forEach((l, i) => ids.set(l.sku, created[i]!));
        }
        return ids;
    };

    const upsertOnce = async (order: ErpOrder, signal?: AbortSignal): Promise<ErpDocument> => {
        let existing = await findOrder(order.number, signal);
        if (!existing) {
            const partnerId = await partnerFor(order, signal);
            const products = await productsFor(order, signal);
            const lines = order.lines.map((line) => [
                0,
                0,
                {
                    product_id: products.get(line.sku)!,
                    name: line.name,
                    product_uom_qty: line.quantity,
                    price_unit: toMajorUnits(line.unit_price_amount, order.currency),
                    // Our prices are final (tax included in our totals): Odoo adds no taxes of its own.
                    tax_ids: [[6, 0, []]],
                },
            ]);
            const [id] = parse(
                Ids,
                await call({ model: 'sale.order', method: 'create', params: { vals_list: [{ partner_id: partnerId, client_order_ref: order.number, order_line: lines }] } }, signal),
                'sale.order.create',
            );
            existing = { id: id!, name: '', state: 'draft' };
        }
        // Confirm once paid; cancel when the shop canceled it. A retry after a lost answer
        // finds the order in the state the lost call left it and only does what is missing.
        const paid = ['paid', 'fulfilling', 'fulfilled', 'completed'].includes(order.status);
        if (paid && (existing.state === 'draft' || existing.state === 'sent')) {
            await call({ model: 'sale.order', method: 'action_confirm', ids: [existing.id] }, signal);
            existing = { ...existing, state: 'sale' };
        } else if (order.status === 'canceled' && existing.state !== 'cancel') {
            await call({ model: 'sale.order', method: 'action_cancel', ids: [existing.id] }, signal);
            existing = { ...existing, state: 'cancel' };
        }
        return { erp_document_id: String(existing.id), ...(existing.name ? { reference: existing.name } : {}), state: existing.state };
    };

    return {
        name: `odoo-${settings.protocol}`,

        upsertOrder: (order, { signal }) => retryTransient(() => upsertOnce(order, signal), { signal, safeToRepeat: false }),

        async getOrderStatus(number, options: CallOptions = {}): Promise<ErpOrderStatus | null> {
            const found = await findOrder(number, options.signal);
            return found ? { erp_document_id: String(found.id), state: found.state } : null;
        },

        async listStock(options: CallOptions = {}): Promise<ErpStockLevel[]> {
            // The warehouse's own locations (not customers', suppliers' or virtual ones), then their quants.
            const locations = parse(
                IdOnly,
                await call({ model: 'stock.location', method: 'search_read', params: { domain: [['usage', '=', 'internal']], fields: ['id'] } }, options.signal),
                'stock.location.search_read',
            );
            if (!locations.length) return [];
            const quants = parse(
                Quants,
                await call({ model: 'stock.quant', method: 'search_read', params: { domain: [['location_id', 'in', locations.map((l) => l.id)]], fields: ['id', 'product_id', 'quantity', 'reserved_quantity'] } }, options.signal),
                'stock.quant.search_read',
            );
            const perProduct = new Map<number, number>();
            for (const quant of quants) {
                if (quant.product_id === false) continue;
                // Free units: what Odoo holds for its confirmed orders (ours among them, once synced) is not ours to sell.
                perProduct.set(quant.product_id[0], (perProduct.get(quant.product_id[0]) ?? 0) + quant.quantity - quant.reserved_quantity);
            }
            if (!perProduct.size) return [];
            const products = parse(
                Products,
                await call({ model: 'product.product', method: 'read', ids: [...perProduct.keys()], params: { fields: ['id', 'default_code'] } }, options.signal),
                'product.product.read',
            );
            return products
                .filter((p): p is { id: number; default_code: string } => typeof p.default_code === 'string' && p.default_code !== '')
                .map((p) => ({ sku: p.default_code, on_hand: Math.max(0, Math.floor(perProduct.get(p.id) ?? 0)) }));
        },
    };
}
