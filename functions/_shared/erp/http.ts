// A generic JSON-over-HTTP ERP (ERP_ADAPTER=http): the order is POSTed as one document
// with an `Idempotency-Key` (the outbox message's key), so the ERP applies a repeated
// delivery once; the order number identifies the document across versions.
//   POST {base}/orders            → 200/201 {id, status?}
//   GET  {base}/orders/{number}   → 200 {id, status} | 404
//   GET  {base}/stock             → 200 {items: [{sku, on_hand}]}
// Responses are validated with zod before anything is used.
import { z } from 'zod';
import { ErpError, erpFetch, readErpJson, retryableStatus, retryTransient, type ErpAdapter } from './adapter.ts';

export interface HttpErpSettings {
    url: string;
    token: string;
    timeoutMs: number;
    fetch?: typeof fetch;
}

const Document = z.object({ id: z.union([z.string().min(1), z.number().int()]), status: z.string().optional() }).passthrough();
const Stock = z.object({ items: z.array(z.object({ sku: z.string().min(1), on_hand: z.number().int().min(0) })) });

export function createHttpErpAdapter(settings: HttpErpSettings): ErpAdapter {
    const fetcher = settings.fetch ?? fetch;
    const base = settings.url.replace(/\/+$/, '');
    const headers = { authorization: `Bearer ${settings.token}`, 'content-type': 'application/json', 'user-agent': 'tillbase-erp-sync' };

    // GETs are reads and the POST carries an Idempotency-Key: every call is safe to repeat.
    const request = (what: string, path: string, init: RequestInit, signal?: AbortSignal) =>
        retryTransient(() => requestOnce(what, path, init, signal), { signal, safeToRepeat: true });
    const requestOnce = async (what: string, path: string, init: RequestInit, signal?: AbortSignal): Promise<{ status: number; body: unknown }> => {
        const response = await erpFetch(fetcher, `${base}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } }, settings.timeoutMs, signal);
        if (response.status === 404 && init.method === 'GET') return { status: 404, body: null };
        const body = await readErpJson(response, what);
        if (!response.ok) throw new ErpError(`${what}: the ERP answered ${response.status} (${JSON.stringify(body).slice(0, 200)})`, retryableStatus(response.status), response.status);
        return { status: response.status, body };
    };
    const valid = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> => {
        const result = schema.safeParse(value);
        if (!result.success) throw new ErpError(`${what}: unexpected answer (${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message})`, true);
        return result.data;
    };

    return {
        name: 'http',
        async upsertOrder(order, { idempotencyKey, signal }) {
            const { body } = await request('POST /orders', '/orders', { method: 'POST', headers: { 'idempotency-key': idempotencyKey }, body: JSON.stringify({ ...order, customer: { email: order.email, name: order.customer_name } }) }, signal);
            const document = valid(Document, body, 'POST /orders');
            return { erp_document_id: String(document.id), ...(document.status ? { state: document.status } : {}) };
        },
        async getOrderStatus(number, options = {}) {
            const { status, body } = await request('GET /orders/{number}', `/orders/${encodeURIComponent(number)}`, { method: 'GET' }, options.signal);
            if (status === 404) return null;
            const document = valid(Document, body, 'GET /orders/{number}');
            return { erp_document_id: String(document.id), state: document.status ?? 'unknown' };
        },
        async listStock(options = {}) {
            const { body } = await request('GET /stock', '/stock', { method: 'GET' }, options.signal);
            return valid(Stock, body, 'GET /stock').items;
        },
    };
}
