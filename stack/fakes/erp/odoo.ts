// The Odoo 19 subset the ERP fake keeps: records of res.partner, product.product,
// sale.order(.line), stock.location and stock.quant, and the ORM methods external
// clients call (search_read, search, read, create, write, search_count, and
// sale.order's action_confirm / action_cancel), with Odoo's error classes. Both
// protocols (JSON-2 and the legacy /jsonrpc) call into this one store.

/** An Odoo exception as the server reports it: class name, HTTP status for JSON-2, message. */
export class OdooError extends Error {
    constructor(
        readonly odooName: string,
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

export const accessDenied = () => new OdooError('odoo.exceptions.AccessDenied', 401, 'Invalid apikey');
const missing = (message: string) => new OdooError('odoo.exceptions.MissingError', 404, message);
const notFound = (message: string) => new OdooError('werkzeug.exceptions.NotFound', 404, message);
const validation = (message: string) => new OdooError('odoo.exceptions.ValidationError', 422, message);
const userError = (message: string) => new OdooError('odoo.exceptions.UserError', 422, message);
const badKwargs = (message: string) => new OdooError('builtins.TypeError', 422, message);

type FieldKind = { type: 'char' | 'float' | 'integer' | 'selection' } | { type: 'many2one'; model: string } | { type: 'one2many'; model: string; inverse: string };
type Row = Record<string, unknown> & { id: number };

const MODELS: Record<string, Record<string, FieldKind>> = {
    'res.partner': { name: { type: 'char' }, email: { type: 'char' } },
    'product.product': { name: { type: 'char' }, default_code: { type: 'char' }, list_price: { type: 'float' } },
    'stock.location': { name: { type: 'char' }, usage: { type: 'selection' } },
    'stock.quant': {
        product_id: { type: 'many2one', model: 'product.product' },
        location_id: { type: 'many2one', model: 'stock.location' },
        quantity: { type: 'float' },
        reserved_quantity: { type: 'float' },
    },
    'sale.order': {
        name: { type: 'char' },
        partner_id: { type: 'many2one', model: 'res.partner' },
        client_order_ref: { type: 'char' },
        order_line: { type: 'one2many', model: 'sale.order.line', inverse: 'order_id' },
        state: { type: 'selection' },
        amount_total: { type: 'float' },
    },
    'sale.order.line': {
        order_id: { type: 'many2one', model: 'sale.order' },
        product_id: { type: 'many2one', model: 'product.product' },
        name: { type: 'char' },
        product_uom_qty: { type: 'float' },
        price_unit: { type: 'float' },
        price_subtotal: { type: 'float' },
        product_uom_id: { type: 'many2one', model: 'uom.uom' },
        tax_ids: { type: 'char' },
    },
};

/** Named parameters each method accepts (JSON-2 passes them by name; unknown ones are a 422). */
const METHOD_PARAMS: Record<string, string[]> = {
    search_read: ['domain', 'fields', 'offset', 'limit', 'order'],
    search: ['domain', 'offset', 'limit', 'order'],
    search_count: ['domain', 'limit'],
    read: ['fields'],
    create: ['vals_list'],
    write: ['vals'],
    action_confirm: [],
    action_cancel: [],
};

const READ_ONLY = new Set(['search_read', 'search', 'search_count', 'read']);

export interface OdooCall {
    model: string;
    method: string;
    ids?: number[];
    params: Record<string, unknown>;
}

export const STOCK_LOCATION_ID = 8;

export class OdooStore {
    private tables = new Map<string, Map<number, Row>>();
    private nextId = new Map<string, number>();

    /** `firstId`: the id of the first record of each model (the fixed stock locations aside). */
    constructor(private readonly firstId = 1) {
        this.reset();
    }

    reset(): void {
        this.tables = new Map(Object.keys(MODELS).map((m) => [m, new Map<number, Row>()]));
        this.nextId = new Map(Object.keys(MODELS).map((m) => [m, this.firstId]));
        this.nextId.set('stock.location', STOCK_LOCATION_ID);
        this.insert('stock.location', { name: 'WH/Stock', usage: 'internal' });
        this.insert('stock.location', { name: 'Partners/Customers', usage: 'customer' });
    }

    rows(model: string): Row[] {
        return [...this.table(model).values()];
    }

    get(model: string, id: number): Row | undefined {
        return this.table(model).get(id);
    }

    insert(model: string, vals: Record<string, unknown>): Row {
        const id = this.nextId.get(model)!;
        this.nextId.set(model, id + 1);
        const row: Row = { ...vals, id };
        this.table(model).set(id, row);
        return row;
    }

    /** Runs one ORM call (one transaction: a failing call changes nothing). */
    call({ model, method, ids = [], params }: OdooCall): unknown {
        if (!MODELS[model]) throw notFound(`Model '${model}' does not exist`);
        const allowed = METHOD_PARAMS[method];
        if (!allowed || (method.startsWith('action_') && model !== 'sale.order')) {
            throw notFound(`The method '${method}' does not exist on the model '${model}'`);
        }
        const unknown = Object.keys(params).filter((p) => !allowed.includes(p));
        if (unknown.length) throw badKwargs(`${model}.${method}() got an unexpected keyword argument '${unknown[0]}'`);
        if (READ_ONLY.has(method)) return this.run(model, method, ids, params);
        const snapshot = this.clone();
        try {
            return this.run(model, method, ids, params);
        } catch (error) {
            this.tables = snapshot;
            throw error;
        }
    }

    private run(model: string, method: string, ids: number[], params: Record<string, unknown>): unknown {
        switch (method) {
            case 'search_read': {
                const found = this.search(model, params);
                return found.map((row) => this.present(model, row, asFields(params.fields)));
            }
            case 'search':
                return this.search(model, params).map((row) => row.id);
            case 'search_count':
                return this.search(model, { domain: params.domain }).length;
            case 'read':
                return this.existing(model, ids).map((row) => this.present(model, row, asFields(params.fields)));
            case 'create': {
                const list = Array.isArray(params.vals_list) ? params.vals_list : [params.vals_list];
                if (!list.length || list.some((v) => !isObject(v))) throw validation('create: vals_list must be a list of dicts');
                return list.map((vals) => this.create(model, vals as Record<string, unknown>).id);
            }
            case 'write': {
                if (!isObject(params.vals)) throw validation('write: vals must be a dict');
                for (const row of this.existing(model, ids)) this.assign(model, row, params.vals as Record<string, unknown>);
                return true;
            }
            case 'action_confirm': {
                const orders = this.existing(model, ids);
                if (orders.some((o) => !['draft', 'sent'].includes(String(o.state)))) {
                    throw userError('Some orders are not in a state requiring confirmation.');
                }
                for (const order of orders) {
                    if (!(order.order_line as number[]).length) throw userError('There are no order lines to confirm.');
                    order.state = 'sale';
                }
                return true;
            }
            case 'action_cancel': {
                for (const order of this.existing(model, ids)) order.state = 'cancel';
                return true;
            }
        }
        throw notFound(`The method '${method}' does not exist on the model '${model}'`);
    }

    private create(model: string, vals: Record<string, unknown>): Row {
        if (model === 'sale.order' && typeof vals.partner_id !== 'number') throw validation('The field Customer (partner_id) is required.');
        if (model === 'sale.order.line' && typeof vals.product_id !== 'number') throw validation('The field Product (product_id) is required.');
        const defaults: Record<string, unknown> =
            model === 'sale.order' ? { state: 'draft', order_line: [], client_order_ref: false, amount_total: 0 } : {};
        const row = this.insert(model, defaults);
        if (model === 'sale.order') row.name = `S${String(row.id).padStart(5, '0')}`;
        this.assign(model, row, vals);
        return row;
    }

    /** Writes values, resolving many2one ids and x2many commands; keeps computed fields current. */
    private assign(model: string, row: Row, vals: Record<string, unknown>): void {
        const fields = MODELS[model]!;
        for (const [name, value] of Object.entries(vals)) {
            const field = fields[name];
            if (!field) throw validation(`Invalid field '${name}' on model '${model}'`);
            if (field.type === 'many2one') {
                if (value !== false && (typeof value !== 'number' || (field.model !== 'uom.uom' && !this.get(field.model, value)))) {
                    throw missing(`Record does not exist or has been deleted. (Record: ${field.model}(${String(value)},))`);
                }
                row[name] = value;
            } else if (field.type === 'one2many') {
                if (!Array.isArray(value)) throw validation(`${name}: a list of commands is expected`);
                const current = (row[name] as number[] | undefined) ?? [];
                for (const command of value) {
                    if (!Array.isArray(command) || command[0] !== 0 || !isObject(command[2])) {
                        throw validation(`${name}: only create commands [0, 0, {…}] are supported by this server`);
                    }
                    const child = this.create(field.model, { ...(command[2] as Record<string, unknown>), [field.inverse]: row.id });
                    current.push(child.id);
                }
                row[name] = current;
            } else {
                row[name] = value;
            }
        }
        if (model === 'sale.order.line') {
            row.price_subtotal = round2(Number(row.product_uom_qty ?? 0) * Number(row.price_unit ?? 0));
            if (row.name === undefined) row.name = String(this.get('product.product', row.product_id as number)?.name ?? '');
        }
        if (model === 'sale.order' || model === 'sale.order.line') {
            const order = this.get('sale.order', model === 'sale.order' ? row.id : (row.order_id as number));
            if (order) {
                const lines = ((order.order_line as number[]) ?? []).map((id) => this.get('sale.order.line', id)!);
                order.amount_total = round2(lines.reduce((sum, line) => sum + Number(line.price_subtotal ?? 0), 0));
            }
        }
    }

    private search(model: string, params: Record<string, unknown>): Row[] {
        const domain = params.domain ?? [];
        if (!Array.isArray(domain)) throw validation('domain must be a list');
        let rows = this.rows(model).filter((row) => domain.every((term) => this.matches(model, row, term)));
        if (typeof params.order === 'string' && /\bdesc\b/i.test(params.order)) rows = rows.reverse();
        const offset = typeof params.offset === 'number' ? params.offset : 0;
        const limit = typeof params.limit === 'number' && params.limit > 0 ? params.limit : undefined;
        return rows.slice(offset, limit === undefined ? undefined : offset + limit);
    }

    /** One domain term `[field, operator, value]` (implicit AND between terms); dotted paths follow many2one. */
    private matches(model: string, row: Row, term: unknown): boolean {
        if (term === '&') return true;
        if (!Array.isArray(term) || term.length !== 3 || typeof term[0] !== 'string' || typeof term[1] !== 'string') {
            throw validation(`Invalid leaf ${JSON.stringify(term)}`);
        }
        const [path, operator, expected] = term as [string, string, unknown];
        const [head, ...rest] = path.split('.');
        const field = head === 'id' ? { type: 'integer' as const } : MODELS[model]![head!];
        if (!field) throw validation(`Invalid field ${model}.${head} in leaf ${JSON.stringify(term)}`);
        if (rest.length) {
            if (field.type !== 'many2one') throw validation(`${head} is not a relation`);
            const target = this.get(field.model, row[head!] as number);
            return target ? this.matches(field.model, target, [rest.join('.'), operator, expected]) : false;
        }
        const actual = row[head!] ?? false;
        switch (operator) {
            case '=':
                return actual === expected;
            case '!=':
                return actual !== expected;
            case 'in':
                return Array.isArray(expected) && expected.includes(actual);
            case 'not in':
                return Array.isArray(expected) && !expected.includes(actual);
            case '=ilike':
                return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase() === expected.toLowerCase();
            case 'ilike':
                return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().includes(expected.toLowerCase());
            case '>':
                return Number(actual) > Number(expected);
            case '>=':
                return Number(actual) >= Number(expected);
            case '<':
                return Number(actual) < Number(expected);
            case '<=':
                return Number(actual) <= Number(expected);
        }
        throw validation(`Invalid operator ${operator}`);
    }

    private existing(model: string, ids: number[]): Row[] {
        return ids.map((id) => {
            const row = this.get(model, id);
            if (!row) throw missing(`Record does not exist or has been deleted. (Record: ${model}(${id},))`);
            return row;
        });
    }

    /** A record as Odoo returns it: many2one as `[id, display_name]` or false, x2many as ids. */
    private present(model: string, row: Row, fields: string[] | undefined): Record<string, unknown> {
        const names = fields?.length ? fields : Object.keys(MODELS[model]!);
        const out: Record<string, unknown> = { id: row.id };
        for (const name of names) {
            const field = MODELS[model]![name];
            if (!field) {
                if (name !== 'id') throw validation(`Invalid field '${name}' on model '${model}'`);
                continue;
            }
            const value = row[name];
            if (field.type === 'many2one') {
                const target = typeof value === 'number' ? this.get(field.model, value) : undefined;
                out[name] = typeof value === 'number' ? [value, String(target?.name ?? target?.id ?? value)] : false;
            } else {
                out[name] = value ?? false;
            }
        }
        return out;
    }

    private table(model: string): Map<number, Row> {
        const table = this.tables.get(model);
        if (!table) throw notFound(`Model '${model}' does not exist`);
        return table;
    }

    private clone(): Map<string, Map<number, Row>> {
        return new Map(
            [...this.tables].map(([m, t]) => [m, new Map([...t].map(([id, r]) => [id, structuredClone(r)]))]),
        );
    }
}

function asFields(value: unknown): string[] | undefined {
    return Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function round2(value: number): number {
    return Math.round(value * 100) / 100;
}
