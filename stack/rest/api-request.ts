// The parsed request: target (table, function, root), query-string parameters classified
// into select / filters / logic / order / limit / offset per embed path, and the Range header.
import { ApiError } from './errors.js';
import {
    parseColumnList,
    parseEmbedPath,
    parseFilterKey,
    parseFilterValue,
    parseLogic,
    parseNonNegativeInt,
    parseOrder,
    parseSelect,
    type Filter,
    type LogicTree,
    type OrderTerm,
    type SelectItem,
} from './query-parser.js';

export type Target = { kind: 'root' } | { kind: 'table'; name: string } | { kind: 'rpc'; name: string };

export interface QueryParams {
    select: SelectItem[];
    hasSelect: boolean;
    columns?: string[];
    onConflict?: string[];
    filters: { path: string[]; filter: Filter }[];
    logic: { path: string[]; tree: LogicTree }[];
    order: { path: string[]; terms: OrderTerm[] }[];
    limits: { path: string[]; value: number }[];
    offsets: { path: string[]; value: number }[];
    /** GET/HEAD rpc arguments, in query-string order. */
    rpcArgs: [string, string][];
}

export function parseTarget(pathname: string): Target {
    const segments = pathname.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1));
    const decoded = segments.map((s) => {
        try {
            return decodeURIComponent(s);
        } catch {
            return s;
        }
    });
    if (decoded.length === 0) return { kind: 'root' };
    if (decoded.length === 1 && decoded[0]) return { kind: 'table', name: decoded[0] };
    if (decoded.length === 2 && decoded[0] === 'rpc' && decoded[1]) return { kind: 'rpc', name: decoded[1] };
    throw new ApiError(404, 'PGRST125', 'Invalid path specified in request URL');
}

const RESERVED_TAIL = new Set(['order', 'limit', 'offset', 'or', 'and']);

/** Splits `a.b.order` into (['a','b'], 'order'); keys inside quotes are not split. */
function splitReserved(key: string): { path: string[]; tail: string; negated: boolean } | undefined {
    const idx = key.lastIndexOf('.');
    const tail = idx < 0 ? key : key.slice(idx + 1);
    if (!RESERVED_TAIL.has(tail)) return undefined;
    let head = idx < 0 ? '' : key.slice(0, idx);
    let negated = false;
    if ((tail === 'or' || tail === 'and') && (head === 'not' || head.endsWith('.not'))) {
        negated = true;
        head = head === 'not' ? '' : head.slice(0, -4);
    }
    const path = head ? parseEmbedPath(`${tail} parameter`, head) : [];
    return { path, tail, negated };
}

/**
 * @param isRpcArg for GET/HEAD rpc: whether a key is an argument (else it is a filter)
 */
/** Longest query string accepted (in characters, as sent); longer ones are 400 PGRST100. */
export const MAX_QUERY_STRING = 32 * 1024;

/** Refuses a query string past MAX_QUERY_STRING before anything parses it. */
export function checkQueryStringLength(search: string): void {
    const length = search.startsWith('?') ? search.length - 1 : search.length;
    if (length > MAX_QUERY_STRING) {
        throw new ApiError(400, 'PGRST100', 'failed to parse query string: too long', `The query string has ${length} characters; at most ${MAX_QUERY_STRING} are accepted.`);
    }
}

export function parseQueryParams(search: URLSearchParams, isRpcArg?: (key: string, value: string) => boolean): QueryParams {
    const q: QueryParams = {
        select: [{ kind: 'star' }],
        hasSelect: false,
        filters: [],
        logic: [],
        order: [],
        limits: [],
        offsets: [],
        rpcArgs: [],
    };
    for (const [key, value] of search) {
        if (key === 'select') {
            q.select = parseSelect(value);
            q.hasSelect = true;
            continue;
        }
        if (key === 'columns') {
            q.columns = parseColumnList('columns parameter', value);
            continue;
        }
        if (key === 'on_conflict') {
            q.onConflict = parseColumnList('on_conflict parameter', value);
            continue;
        }
        const reserved = splitReserved(key);
        if (reserved) {
            switch (reserved.tail) {
                case 'order':
                    q.order.push({ path: reserved.path, terms: parseOrder(value) });
                    break;
                case 'limit':
                    q.limits.push({ path: reserved.path, value: parseNonNegativeInt('limit parameter', value) });
                    break;
                case 'offset':
                    q.offsets.push({ path: reserved.path, value: parseNonNegativeInt('offset parameter', value) });
                    break;
                default:
                    q.logic.push({ path: reserved.path, tree: parseLogic(reserved.tail as 'or', reserved.negated, value) });
            }
            continue;
        }
        if (isRpcArg && isRpcArg(key, value)) {
            q.rpcArgs.push([key, value]);
            continue;
        }
        const { path, field } = parseFilterKey(key);
        const filter = parseFilterValue(key, value);
        q.filters.push({ path, filter: { ...filter, field } });
    }
    return q;
}

/** Whether a query-string value reads as an operator expression (`eq.1`, `not.in.(…)`). */
export function looksLikeFilter(value: string): boolean {
    try {
        parseFilterValue('x', value);
        return true;
    } catch {
        return false;
    }
}

export interface RangeRequest {
    offset: number;
    limit?: number;
}

/** `Range: 0-9` (Range-Unit items) on GET. */
export function parseRangeHeader(headers: Headers): RangeRequest | undefined {
    const raw = headers.get('range');
    if (!raw) return undefined;
    const m = /^(?:items=)?\s*(\d+)-(\d*)\s*$/.exec(raw.trim());
    if (!m) return undefined;
    const lower = Number(m[1]);
    if (m[2] === '') return { offset: lower };
    const upper = Number(m[2]);
    if (upper < lower) {
        throw new ApiError(
            416,
            'PGRST103',
            'Requested range not satisfiable',
            'The lower boundary must be lower than or equal to the upper boundary in the Range header.',
        );
    }
    return { offset: lower, limit: upper - lower + 1 };
}
