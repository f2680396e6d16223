// The local ERP stand-in: an HTTP server that speaks the Odoo 19 JSON-2 API subset
// (`POST /json/2/<model>/<method>`), the legacy `/jsonrpc` (Odoo ≤ 18) and a generic
// JSON-over-HTTP order API with Idempotency-Key, keeps everything it received, and fails
// on purpose at run time (error rate, latency, timeouts, down) through its admin API
// (`/__admin/…`, also driven by `npm run erp -- …`). Generic: it knows ERP APIs, not
// the shop's commerce schema.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { accessDenied, OdooError, OdooStore, STOCK_LOCATION_ID, type OdooCall } from './odoo.js';

export const ODOO_VERSION = { server_version: '19.0', server_version_info: [19, 0, 0, 'final', 0, ''], server_serie: '19.0', protocol_version: 1, version: '19.0' };

export const FaultSettings = z
    .object({
        /** Share of API calls answered 5xx before doing anything (0..1). */
        error_rate: z.number().min(0).max(1),
        /** Share of API calls carried out, then answered 502 (a proxy losing the answer after the commit). */
        error_after_rate: z.number().min(0).max(1),
        /** Share of API calls that are carried out but never answered (the connection hangs, then drops). */
        timeout_rate: z.number().min(0).max(1),
        /** Added to every API call, in milliseconds. */
        latency_ms: z.number().int().min(0).max(120_000),
        /** How long a "timed out" call hangs before the connection is dropped. */
        hang_ms: z.number().int().min(0).max(600_000),
        /** Down: every API connection is dropped without an answer. */
        down: z.boolean(),
        /** Seed of the fault dice, for a reproducible run (null: Math.random). */
        seed: z.number().int().nullable(),
        /** Only these calls get faults ("sale.order.create", "POST /api/v1/orders"); null: every call. */
        calls: z.array(z.string().min(1)).nullable(),
    })
    .strict();

export type FaultSettings = z.infer<typeof FaultSettings>;

export const NO_FAULTS: FaultSettings = { error_rate: 0, error_after_rate: 0, timeout_rate: 0, latency_ms: 0, hang_ms: 30_000, down: false, seed: null, calls: null };

export interface ErpFakeOptions {
    port?: number;
    host?: string;
    /** The Odoo database name clients must send in X-Odoo-Database (and /jsonrpc's db). */
    database?: string;
    /** The API key (Odoo's bearer key; the generic API's bearer token). */
    apiKey?: string;
    /** The login /jsonrpc's `common.authenticate` accepts. */
    login?: string;
    faults?: Partial<FaultSettings>;
    /** Id of the first record of each Odoo model (default 1). */
    firstId?: number;
}

export interface ReceivedCall {
    seq: number;
    at: string;
    protocol: 'json2' | 'jsonrpc' | 'http' | 'other';
    call: string;
    /** What was done to it: answered, error (5xx, not done), error_after (done, then 502), timeout (done, never answered), down (dropped). */
    outcome: 'answered' | 'error' | 'error_after' | 'timeout' | 'down';
    status?: number;
}

export interface ErpReport {
    calls: number;
    by_call: Record<string, number>;
    faults: { error: number; error_after: number; timeout: number; down: number };
    sale_orders: number;
    /** client_order_refs with more than one sale.order: must stay empty. */
    duplicate_orders: Array<{ client_order_ref: string; count: number }>;
    http_orders: number;
    /** Idempotency keys the generic API saw again (answered from its record, not re-applied). */
    http_replayed_keys: number;
}

export interface ErpFake {
    url: string;
    port: number;
    options: Required<Omit<ErpFakeOptions, 'faults' | 'port' | 'host' | 'firstId'>>;
    store: OdooStore;
    faults(): FaultSettings;
    setFaults(patch: Partial<FaultSettings>): FaultSettings;
    report(): ErpReport;
    received(): ReceivedCall[];
    reset(): void;
    close(): Promise<void>;
}

type Outcome = { status: number; body: unknown; headers?: Record<string, string> };

interface HttpOrder {
    id: number;
    number: string;
    document: Record<string, unknown>;
    status: string;
    versions: number;
}

const HttpOrderBody = z
    .object({
        number: z.string().min(1).max(100),
        status: z.string().min(1).max(50),
        currency: z.string().length(3),
        total_amount: z.number().int().min(0),
        customer: z.object({ email: z.string().min(3), name: z.string().optional() }).passthrough(),
        lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), unit_price_amount: z.number().int().min(0) }).passthrough()).min(1),
    })
    .passthrough();

const ProductSeed = z.object({
    products: z.array(z.object({ default_code: z.string().min(1), name: z.string().optional(), quantity: z.number().min(0).optional(), list_price: z.number().min(0).optional() })).min(1),
});

const StockSeed = z.object({ items: z.array(z.object({ default_code: z.string().min(1), quantity: z.number().min(0) })).min(1) });

export async function startErpFake(options: ErpFakeOptions = {}): Promise<ErpFake> {
    const settings = {
        database: options.database ?? 'tillbase',
        apiKey: options.apiKey ?? 'local-erp-fake-key',
        login: options.login ?? 'admin',
    };
    let faults: FaultSettings = { ...NO_FAULTS, ...options.faults };
    let dice = diceFor(faults.seed);
    const store = new OdooStore(options.firstId);
    let log: ReceivedCall[] = [];
    let seq = 0;
    let httpOrders = new Map<string, HttpOrder>();
    let idempotency = new Map<string, { fingerprint: string; outcome: Outcome }>();
    let replayedKeys = 0;
    const sockets = new Set<Socket>();
    const hanging = new Set<NodeJS.Timeout>();

    const odooError = (error: OdooError): Outcome => ({
        status: error.status,
        body: { name: error.odooName, message: error.message, arguments: [error.message], context: {}, debug: `Traceback (most recent call last):\n${error.odooName}: ${error.message}` },
    });

    const bearer = (req: http.IncomingMessage) => /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];

    /** JSON-2: POST /json/2/<model>/<method> with the params by name, ids and context. */
    const json2 = (req: http.IncomingMessage, model: string, method: string, text: string): Outcome => {
        if (bearer(req) !== settings.apiKey) return odooError(accessDenied());
        const db = req.headers['x-odoo-database'];
        if (db !== undefined && db !== settings.database) return odooError(new OdooError('werkzeug.exceptions.NotFound', 404, `database ${String(db)} not found`));
        let body: unknown;
        try {
            body = text.trim() ? JSON.parse(text) : {};
        } catch {
            return odooError(new OdooError('werkzeug.exceptions.BadRequest', 400, 'Invalid JSON data'));
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return odooError(new OdooError('werkzeug.exceptions.BadRequest', 400, 'Invalid JSON data: an object is expected'));
        const { ids, context: _context, ...params } = body as Record<string, unknown>;
        if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'number'))) {
            return odooError(new OdooError('odoo.exceptions.ValidationError', 422, 'ids must be a list of integers'));
        }
        try {
            return { status: 200, body: store.call({ model, method, ids: ids as number[] | undefined, params }) };
        } catch (error) {
            if (error instanceof OdooError) return odooError(error);
            throw error;
        }
    };

    /** Legacy JSON-RPC: common.authenticate / common.version / object.execute_kw, errors inside a 200. */
    const jsonrpc = (text: string): Outcome => {
        let request: { id?: unknown; params?: { service?: unknown; method?: unknown; args?: unknown } };
        try {
            request = JSON.parse(text);
        } catch {
            return { status: 200, body: rpcError(null, new OdooError('werkzeug.exceptions.BadRequest', 400, 'Invalid JSON data')) };
        }
        const id = request.id ?? null;
        const { service, method, args } = request.params ?? {};
        const list = Array.isArray(args) ? args : [];
        try {
            if (service === 'common' && method === 'version') return { status: 200, body: { jsonrpc: '2.0', id, result: ODOO_VERSION } };
            if (service === 'common' && method === 'authenticate') {
                const [db, login, key] = list;
                return { status: 200, body: { jsonrpc: '2.0', id, result: db === settings.database && login === settings.login && key === settings.apiKey ? 2 : false } };
            }
            if (service === 'object' && method === 'execute_kw') {
                const [db, uid, key, model, orm, positional, kwargs] = list as [unknown, unknown, unknown, string, string, unknown[], Record<string, unknown>?];
                if (db !== settings.database || uid !== 2 || key !== settings.apiKey) throw new OdooError('odoo.exceptions.AccessDenied', 401, 'Access Denied');
                return { status: 200, body: { jsonrpc: '2.0', id, result: store.call(positionalCall(model, orm, positional ?? [], kwargs ?? {})) } };
            }
            throw new OdooError('werkzeug.exceptions.NotFound', 404, `unknown service or method ${String(service)}.${String(method)}`);
        } catch (error) {
            if (error instanceof OdooError) return { status: 200, body: rpcError(id, error) };
            throw error;
        }
    };

    /** The generic adapter's API: orders upserted by number, replay-safe by Idempotency-Key. */
    const generic = (req: http.IncomingMessage, path: string, text: string): Outcome => {
        if (bearer(req) !== settings.apiKey) return { status: 401, body: { error: 'unauthorized', message: 'invalid API token' } };
        if (req.method === 'GET' && path === '/api/v1/stock') return { status: 200, body: { items: stockLevels(store) } };
        const one = /^\/api\/v1\/orders\/([^/]+)$/.exec(path);
        if (req.method === 'GET' && one) {
            const order = httpOrders.get(decodeURIComponent(one[1]!));
            return order ? { status: 200, body: presentHttpOrder(order) } : { status: 404, body: { error: 'not_found', message: 'no such order' } };
        }
        if (req.method === 'POST' && path === '/api/v1/orders') {
            const key = req.headers['idempotency-key'];
            if (typeof key !== 'string' || !key) return { status: 400, body: { error: 'idempotency_key_required', message: 'Idempotency-Key header is required' } };
            const seen = idempotency.get(key);
            if (seen) {
                if (seen.fingerprint !== text) return { status: 422, body: { error: 'idempotency_key_reused', message: 'this Idempotency-Key was used with another body' } };
                replayedKeys += 1;
                return { ...seen.outcome, headers: { 'idempotent-replayed': 'true' } };
            }
            let parsed: z.infer<typeof HttpOrderBody>;
            try {
                parsed = HttpOrderBody.parse(JSON.parse(text));
            } catch (error) {
                return { status: 422, body: { error: 'invalid_order', message: error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : 'invalid JSON' } };
            }
            const existing = httpOrders.get(parsed.number);
            const order: HttpOrder = existing
                ? { ...existing, document: parsed, status: parsed.status, versions: existing.versions + 1 }
                : { id: httpOrders.size + 1, number: parsed.number, document: parsed, status: parsed.status, versions: 1 };
            httpOrders.set(order.number, order);
            const outcome = { status: existing ? 200 : 201, body: presentHttpOrder(order) };
            idempotency.set(key, { fingerprint: text, outcome });
            return outcome;
        }
        return { status: 404, body: { error: 'not_found', message: `no route ${req.method} ${path}` } };
    };

    const admin = (req: http.IncomingMessage, path: string, text: string): Outcome => {
        const body = () => (text.trim() ? (JSON.parse(text) as unknown) : {});
        try {
            if (path === '/__admin/faults' && req.method === 'GET') return { status: 200, body: faults };
            if (path === '/__admin/faults' && (req.method === 'PUT' || req.method === 'PATCH' || req.method === 'POST')) {
                return { status: 200, body: fake.setFaults(FaultSettings.partial().parse(body())) };
            }
            if (path === '/__admin/report' && req.method === 'GET') return { status: 200, body: fake.report() };
            if (path === '/__admin/received' && req.method === 'GET') return { status: 200, body: log };
            if (path === '/__admin/orders' && req.method === 'GET') return { status: 200, body: { odoo: saleOrders(store), http: [...httpOrders.values()].map(presentHttpOrder) } };
            if (path === '/__admin/stock' && req.method === 'GET') return { status: 200, body: { items: stockLevels(store) } };
            if (path === '/__admin/products' && req.method === 'POST') {
                const { products } = ProductSeed.parse(body());
                for (const p of products) upsertProduct(store, p.default_code, p.name, p.quantity, p.list_price);
                return { status: 200, body: { products: products.length } };
            }
            if (path === '/__admin/stock' && req.method === 'POST') {
                const { items } = StockSeed.parse(body());
                for (const item of items) upsertProduct(store, item.default_code, undefined, item.quantity);
                return { status: 200, body: { items: items.length } };
            }
            if (path === '/__admin/reset' && req.method === 'POST') {
                fake.reset();
                return { status: 200, body: { reset: true } };
            }
        } catch (error) {
            const message = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message;
            return { status: 400, body: { error: 'invalid_request', message } };
        }
        return { status: 404, body: { error: 'not_found', message: `no admin route ${req.method} ${path}` } };
    };

    const record = (entry: Omit<ReceivedCall, 'seq' | 'at'>) => {
        log.push({ seq: ++seq, at: new Date().toISOString(), ...entry });
        if (log.length > 100_000) log = log.slice(-50_000);
    };

    const answer = (res: http.ServerResponse, outcome: Outcome) => {
        if (res.destroyed) return;
        res.writeHead(outcome.status, { 'content-type': 'application/json', ...outcome.headers });
        res.end(JSON.stringify(outcome.body));
    };

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => void serve(req, res, Buffer.concat(chunks).toString('utf8')));
        req.on('error', () => res.destroy());
    });
    server.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
    });

    const serve = async (req: http.IncomingMessage, res: http.ServerResponse, text: string) => {
        const path = new URL(req.url ?? '/', 'http://erp.local').pathname;
        if (path.startsWith('/__admin/')) return answer(res, admin(req, path, text));

        const json2Route = /^\/json\/2\/([^/]+)\/([^/]+)$/.exec(path);
        const protocol: ReceivedCall['protocol'] = json2Route ? 'json2' : path === '/jsonrpc' ? 'jsonrpc' : path.startsWith('/api/v1/') ? 'http' : 'other';
        const call = json2Route ? `${json2Route[1]}.${json2Route[2]}` : protocol === 'jsonrpc' ? rpcName(text) : `${req.method} ${path.replace(/\/orders\/[^/]+$/, '/orders/:number')}`;

        const targeted = faults.calls === null || faults.calls.includes(call);
        if (faults.down) {
            record({ protocol, call, outcome: 'down' });
            return res.socket?.destroy();
        }
        if (faults.latency_ms > 0) await sleep(faults.latency_ms);
        const roll = targeted ? dice() : 1;
        if (roll < faults.error_rate) {
            record({ protocol, call, outcome: 'error', status: 503 });
            return answer(res, protocol === 'jsonrpc'
                ? { status: 200, body: rpcError(null, new OdooError('builtins.Exception', 500, 'injected fault: server error')) }
                : { status: 503, body: { name: 'werkzeug.exceptions.ServiceUnavailable', message: 'injected fault: the server is overloaded', arguments: [], context: {}, debug: '' } });
        }
        const failsAfter = roll < faults.error_rate + faults.error_after_rate;
        const timesOut = !failsAfter && roll < faults.error_rate + faults.error_after_rate + faults.timeout_rate;

        let outcome: Outcome;
        if (json2Route && req.method === 'POST') outcome = json2(req, decodeURIComponent(json2Route[1]!), decodeURIComponent(json2Route[2]!), text);
        else if (path === '/jsonrpc' && req.method === 'POST') outcome = jsonrpc(text);
        else if (protocol === 'http') outcome = generic(req, path, text);
        else if (path === '/web/version') outcome = { status: 200, body: ODOO_VERSION };
        else outcome = { status: 404, body: { name: 'werkzeug.exceptions.NotFound', message: `${req.method} ${path} not found`, arguments: [], context: {}, debug: '' } };

        if (failsAfter) {
            record({ protocol, call, outcome: 'error_after', status: 502 });
            return answer(res, { status: 502, body: { name: 'werkzeug.exceptions.BadGateway', message: 'injected fault: the answer was lost after the call was carried out', arguments: [], context: {}, debug: '' } });
        }
        if (timesOut) {
            // Carried out (the worst case for a client: it cannot know), never answered.
            record({ protocol, call, outcome: 'timeout', status: outcome.status });
            const timer = setTimeout(() => {
                hanging.delete(timer);
                res.socket?.destroy();
            }, faults.hang_ms);
            hanging.add(timer);
            return;
        }
        record({ protocol, call, outcome: 'answered', status: outcome.status });
        answer(res, outcome);
    };

    await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
            reject(error.code === 'EADDRINUSE' ? new Error(`port ${options.port} for the ERP fake is already in use`) : error),
        );
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;

    const fake: ErpFake = {
        url: `http://${options.host ?? '127.0.0.1'}:${port}`,
        port,
        options: settings,
        store,
        faults: () => ({ ...faults }),
        setFaults(patch) {
            faults = FaultSettings.parse({ ...faults, ...patch });
            if (patch.seed !== undefined) dice = diceFor(faults.seed);
            return { ...faults };
        },
        report() {
            const byCall: Record<string, number> = {};
            const faultCount = { error: 0, error_after: 0, timeout: 0, down: 0 };
            for (const entry of log) {
                byCall[entry.call] = (byCall[entry.call] ?? 0) + 1;
                if (entry.outcome !== 'answered') faultCount[entry.outcome] += 1;
            }
            const refs = new Map<string, number>();
            for (const order of store.rows('sale.order')) {
                const ref = String(order.client_order_ref || '');
                if (ref) refs.set(ref, (refs.get(ref) ?? 0) + 1);
            }
            return {
                calls: log.length,
                by_call: byCall,
                faults: faultCount,
                sale_orders: store.rows('sale.order').length,
                duplicate_orders: [...refs].filter(([, n]) => n > 1).map(([client_order_ref, count]) => ({ client_order_ref, count })),
                http_orders: httpOrders.size,
                http_replayed_keys: replayedKeys,
            };
        },
        received: () => [...log],
        reset() {
            store.reset();
            log = [];
            httpOrders = new Map();
            idempotency = new Map();
            replayedKeys = 0;
            faults = { ...NO_FAULTS };
            dice = diceFor(null);
        },
        close: () =>
            new Promise<void>((resolve) => {
                for (const timer of hanging) clearTimeout(timer);
                server.close(() => resolve());
                for (const socket of sockets) socket.destroy();
            }),
    };
    return fake;
}

/** Maps execute_kw's positional arguments onto the named parameters JSON-2 uses. */
function positionalCall(model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): OdooCall {
    const { context: _context, ...named } = kwargs;
    switch (method) {
        case 'search_read':
        case 'search':
        case 'search_count':
            return { model, method, params: { ...(args.length ? { domain: args[0] } : {}), ...(args[1] !== undefined && method === 'search_read' ? { fields: args[1] } : {}), ...named } };
        case 'read':
            return { model, method, ids: args[0] as number[], params: { ...(args[1] !== undefined ? { fields: args[1] } : {}), ...named } };
        case 'create':
            return { model, method, params: { vals_list: args[0], ...named } };
        case 'write':
            return { model, method, ids: args[0] as number[], params: { vals: args[1], ...named } };
        default:
            return { model, method, ids: (args[0] as number[]) ?? [], params: named };
    }
}

function rpcError(id: unknown, error: OdooError): unknown {
    return {
        jsonrpc: '2.0',
        id,
        error: { code: 200, message: 'Odoo Server Error', data: { name: error.odooName, debug: '', message: error.message, arguments: [error.message], context: {} } },
    };
}

function rpcName(text: string): string {
    try {
        const { params } = JSON.parse(text) as { params?: { service?: string; method?: string; args?: unknown[] } };
        if (params?.method === 'execute_kw' && Array.isArray(params.args)) return `${String(params.args[3])}.${String(params.args[4])}`;
        return `${params?.service}.${params?.method}`;
    } catch {
        return 'invalid';
    }
}

function upsertProduct(store: OdooStore, code: string, name?: string, quantity?: number, listPrice?: number): void {
    let product = store.rows('product.product').find((p) => p.default_code === code);
    product ??= store.insert('product.product', { name: name ?? code, default_code: code, list_price: listPrice ?? 0 });
    if (name) product.name = name;
    if (listPrice !== undefined) product.list_price = listPrice;
    if (quantity === undefined) return;
    const quant = store.rows('stock.quant').find((q) => q.product_id === product.id && q.location_id === STOCK_LOCATION_ID);
    if (quant) quant.quantity = quantity;
    else store.insert('stock.quant', { product_id: product.id, location_id: STOCK_LOCATION_ID, quantity, reserved_quantity: 0 });
}

function stockLevels(store: OdooStore): Array<{ sku: string; on_hand: number }> {
    return store.rows('product.product').map((p) => ({
        sku: String(p.default_code),
        on_hand: store.rows('stock.quant').filter((q) => q.product_id === p.id && q.location_id === STOCK_LOCATION_ID).reduce((s, q) => s + Number(q.quantity), 0),
    }));
}

function saleOrders(store: OdooStore): unknown[] {
    return store.rows('sale.order').map((order) => {
        const partner = store.get('res.partner', order.partner_id as number);
        return {
            id: order.id,
            name: order.name,
            client_order_ref: order.client_order_ref,
            state: order.state,
            amount_total: order.amount_total,
            partner: { id: partner?.id, name: partner?.name, email: partner?.email },
            lines: (order.order_line as number[]).map((id) => {
                const line = store.get('sale.order.line', id)!;
                const product = store.get('product.product', line.product_id as number);
                return { default_code: product?.default_code, name: line.name, product_uom_qty: line.product_uom_qty, price_unit: line.price_unit, price_subtotal: line.price_subtotal };
            }),
        };
    });
}

function presentHttpOrder(order: HttpOrder): Record<string, unknown> {
    return { id: `ERP-${order.id}`, number: order.number, status: order.status, versions: order.versions, document: order.document };
}

/** Fault dice: Math.random, or a seeded generator (mulberry32) for reproducible runs. */
function diceFor(seed: number | null): () => number {
    if (seed === null) return Math.random;
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
