// Content negotiation (Accept → the media type of the response) and the Prefer header.
import { ApiError } from './errors.js';

export type MediaType =
    | { kind: 'json' }
    | { kind: 'array-stripped' }
    | { kind: 'object'; stripNulls: boolean }
    | { kind: 'csv' }
    | { kind: 'geojson' }
    | { kind: 'plan'; format: 'json' | 'text'; for: string; options: string[] }
    | { kind: 'openapi' }
    | { kind: 'text' }
    | { kind: 'xml' }
    | { kind: 'octet' };

interface AcceptEntry {
    type: string;
    params: Map<string, string>;
    raw: string;
    q: number;
}

function parseAccept(header: string): AcceptEntry[] {
    const entries: AcceptEntry[] = [];
    // Split on commas that are not inside quotes (plan's for="…").
    const parts: string[] = [];
    let cur = '';
    let quoted = false;
    for (const ch of header) {
        if (ch === '"') quoted = !quoted;
        if (ch === ',' && !quoted) {
            parts.push(cur);
            cur = '';
        } else cur += ch;
    }
    parts.push(cur);
    for (const part of parts) {
        const [type, ...rest] = part.split(';');
        const params = new Map<string, string>();
        for (const p of rest) {
            const eq = p.indexOf('=');
            if (eq < 0) continue;
            params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, ''));
        }
        const q = params.has('q') ? Number(params.get('q')) : 1;
        const t = (type ?? '').trim().toLowerCase();
        if (!t) continue;
        entries.push({ type: t, params, raw: part.trim(), q: Number.isFinite(q) ? q : 0 });
    }
    // stable sort by q descending
    return entries.map((e, i) => ({ e, i })).sort((a, b) => b.e.q - a.e.q || a.i - b.i).map((x) => x.e).filter((e) => e.q > 0);
}

export type Produces = 'table' | 'rpc-scalar' | 'rpc-composite' | 'root';

/** Picks the response media type; PGRST107 (406) when nothing acceptable is offered. */
export function negotiate(accept: string | null, produces: Produces, scalarType?: string, planEnabled = false): MediaType {
    if (!accept || !accept.trim()) return produces === 'root' ? { kind: 'openapi' } : { kind: 'json' };
    const entries = parseAccept(accept);
    for (const e of entries) {
        const stripped = e.params.get('nulls') === 'stripped';
        switch (e.type) {
            case '*/*':
            case 'application/*':
                return produces === 'root' ? { kind: 'openapi' } : { kind: 'json' };
            case 'application/json':
                return produces === 'root' ? { kind: 'openapi' } : { kind: 'json' };
            case 'application/openapi+json':
                if (produces === 'root') return { kind: 'openapi' };
                break;
            case 'application/vnd.pgrst.array+json':
                if (produces === 'root') break;
                return stripped ? { kind: 'array-stripped' } : { kind: 'json' };
            case 'application/vnd.pgrst.object+json':
            case 'application/vnd.pgrst.object':
                if (produces === 'root') break;
                return { kind: 'object', stripNulls: stripped };
            case 'text/csv':
                if (produces === 'root') break;
                return { kind: 'csv' };
            case 'application/geo+json':
                if (produces === 'root') break;
                return { kind: 'geojson' };
            case 'application/vnd.pgrst.plan':
            case 'application/vnd.pgrst.plan+json':
            case 'application/vnd.pgrst.plan+text': {
                if (produces === 'root' || !planEnabled) break;
                // Without a suffix the plan is text, as with +text.
                const format = e.type.endsWith('+json') ? 'json' : 'text';
                const options = (e.params.get('options') ?? '').split('|').filter(Boolean);
                return { kind: 'plan', format, for: e.params.get('for') ?? 'application/json', options };
            }
            case 'text/plain':
                if (produces === 'rpc-scalar' && scalarType === 'text') return { kind: 'text' };
                break;
            case 'text/xml':
                if (produces === 'rpc-scalar' && scalarType === 'xml') return { kind: 'xml' };
                break;
            case 'application/octet-stream':
                if (produces === 'rpc-scalar' && scalarType === 'bytea') return { kind: 'octet' };
                break;
        }
    }
    throw new ApiError(406, 'PGRST107', `None of these media types are available: ${entries.map((e) => e.raw).join(', ') || accept}`);
}

export function contentTypeOf(media: MediaType): string {
    switch (media.kind) {
        case 'json':
            return 'application/json; charset=utf-8';
        case 'array-stripped':
            return 'application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8';
        case 'object':
            return media.stripNulls ? 'application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8' : 'application/vnd.pgrst.object+json; charset=utf-8';
        case 'csv':
            return 'text/csv; charset=utf-8';
        case 'geojson':
            return 'application/geo+json; charset=utf-8';
        case 'plan':
            return `application/vnd.pgrst.plan+${media.format}; for="${media.for}"; charset=utf-8`;
        case 'openapi':
            return 'application/openapi+json; charset=utf-8';
        case 'text':
            return 'text/plain; charset=utf-8';
        case 'xml':
            return 'text/xml; charset=utf-8';
        case 'octet':
            return 'application/octet-stream';
    }
}

// ── Prefer ──────────────────────────────────────────────────────────────────────────

export interface Preferences {
    return?: 'minimal' | 'headers-only' | 'representation';
    count?: 'exact' | 'planned' | 'estimated';
    resolution?: 'merge-duplicates' | 'ignore-duplicates';
    missing?: 'default' | 'null';
    tx?: 'commit' | 'rollback';
    handling?: 'strict' | 'lenient';
    timezone?: string;
    maxAffected?: number;
    invalid: string[];
}

export function parsePrefer(headers: Headers): Preferences {
    const prefs: Preferences = { invalid: [] };
    const raw = headers.get('prefer');
    if (!raw) return prefs;
    for (const part of raw.split(',')) {
        const token = part.trim();
        if (!token) continue;
        const eq = token.indexOf('=');
        const name = eq < 0 ? token : token.slice(0, eq).trim();
        const value = eq < 0 ? '' : token.slice(eq + 1).trim();
        let ok = true;
        switch (name) {
            case 'return':
                if (value === 'minimal' || value === 'headers-only' || value === 'representation') prefs.return ??= value;
                else ok = false;
                break;
            case 'count':
                if (value === 'exact' || value === 'planned' || value === 'estimated') prefs.count ??= value;
                else ok = false;
                break;
            case 'resolution':
                if (value === 'merge-duplicates' || value === 'ignore-duplicates') prefs.resolution ??= value;
                else ok = false;
                break;
            case 'missing':
                if (value === 'default' || value === 'null') prefs.missing ??= value;
                else ok = false;
                break;
            case 'tx':
                if (value === 'commit' || value === 'rollback') prefs.tx ??= value;
                else ok = false;
                break;
            case 'handling':
                if (value === 'strict' || value === 'lenient') prefs.handling ??= value;
                else ok = false;
                break;
            case 'timezone':
                if (value) prefs.timezone ??= value;
                else ok = false;
                break;
            case 'max-affected':
                if (/^\d+$/.test(value)) prefs.maxAffected ??= Number(value);
                else ok = false;
                break;
            default:
                ok = false;
        }
        if (!ok) prefs.invalid.push(token);
    }
    return prefs;
}
