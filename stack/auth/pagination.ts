// GoTrue's ?page=&per_page= of admin lists (paginate.go): unsigned integers, default page 1
// and 50 per page; anything else is 400 "Bad Pagination Parameters", with Go's strconv
// wording. The answer carries X-Total-Count and a Link header with next/last pages.
import { badRequest } from './errors.js';

export interface Page {
    page: number;
    perPage: number;
    offset: number;
}

const MAX_PER_PAGE = 1000;
const UINT64_MAX = 18446744073709551615n;

function parseUint(name: string, raw: string | null, fallback: number): number {
    if (raw === null || raw === '') return fallback;
    const bad = (reason: string) => badRequest('validation_failed', `Bad Pagination Parameters: strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${reason}`);
    if (!/^\d+$/.test(raw)) throw bad('invalid syntax');
    if (BigInt(raw) > UINT64_MAX) throw bad('value out of range');
    const value = Number(raw);
    // Page 0 and per_page 0 would make GoTrue compute a negative offset or divide by zero.
    if (value < 1) throw badRequest('validation_failed', `Bad Pagination Parameters: ${name} must be at least 1`);
    return value;
}

export function readPage(query: URLSearchParams): Page {
    const page = parseUint('page', query.get('page'), 1);
    const perPage = Math.min(MAX_PER_PAGE, parseUint('per_page', query.get('per_page'), 50));
    // Far past the end is an empty page, not an out-of-range OFFSET.
    return { page, perPage, offset: Math.min(Number.MAX_SAFE_INTEGER, (page - 1) * perPage) };
}

/** X-Total-Count and Link (rel="next" when there is a next page, rel="last" always), as GoTrue sends them. */
export function pageHeaders(path: string, query: URLSearchParams, { page, perPage }: Page, total: number): Record<string, string> {
    const totalPages = Math.ceil(total / perPage);
    const link = (n: number) => {
        const u = new URLSearchParams(query);
        u.set('page', String(n));
        u.set('per_page', String(perPage));
        return `<${path}?${u.toString()}>`;
    };
    const links: string[] = [];
    if (page < totalPages) links.push(`${link(page + 1)}; rel="next"`);
    links.push(`${link(totalPages)}; rel="last"`);
    return { 'x-total-count': String(total), link: links.join(', ') };
}
