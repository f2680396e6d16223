// Stripe's request encoding: `application/x-www-form-urlencoded` with brackets for
// nesting — `metadata[order_id]=…`, `line_items[0][price_data][currency]=eur`,
// `expand[]=latest_charge`. An empty value is kept as '' (Stripe reads it as "unset").

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export class FormError extends Error {}

/** Decodes a form body or query string into nested objects and arrays. */
export function decodeForm(input: string | URLSearchParams): FormObject {
    const params = typeof input === 'string' ? new URLSearchParams(input) : input;
    const root: FormObject = {};
    for (const [rawKey, value] of params) {
        const path = splitKey(rawKey);
        let node: FormObject | FormValue[] = root;
        for (let i = 0; i < path.length; i++) {
            const segment = path[i]!;
            const last = i === path.length - 1;
            const nextIsIndex = !last && /^\d*$/.test(path[i + 1]!);
            if (Array.isArray(node)) {
                const index = segment === '' ? node.length : Number(segment);
                if (!Number.isInteger(index) || index > 10_000) throw new FormError(`Invalid array index in ${rawKey}`);
                if (last) node[index] = value;
                else node = (node[index] ??= nextIsIndex ? [] : {}) as FormObject | FormValue[];
            } else {
                if (last) node[segment] = value;
                else node = (node[segment] ??= nextIsIndex ? [] : {}) as FormObject | FormValue[];
            }
            if (!last && typeof node === 'string') throw new FormError(`Invalid parameter: ${rawKey} mixes a value and nested keys`);
        }
    }
    return root;
}

/** `a[b][0]` → ['a', 'b', '0']; `a[]` → ['a', '']. */
function splitKey(key: string): string[] {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!match) throw new FormError(`Invalid parameter name: ${key}`);
    const rest = [...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!);
    return [match[1]!, ...rest];
}

/** The inverse of decodeForm, in Stripe's style (arrays with explicit indexes). */
export function encodeForm(value: Record<string, unknown>): string {
    const pairs: string[] = [];
    const visit = (prefix: string, v: unknown) => {
        if (v === undefined) return;
        if (v === null) pairs.push(`${encodeURIComponent(prefix)}=`);
        else if (Array.isArray(v)) v.forEach((item, i) => visit(`${prefix}[${i}]`, item));
        else if (typeof v === 'object') for (const [k, inner] of Object.entries(v)) visit(`${prefix}[${k}]`, inner);
        else pairs.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(String(v))}`);
    };
    for (const [k, v] of Object.entries(value)) visit(k, v);
    return pairs.join('&');
}

/** A canonical text of decoded parameters: equal parameters, equal text (key order ignored). */
export function canonicalParams(value: FormValue | undefined): string {
    if (value === undefined) return '';
    if (typeof value === 'string') return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map((v) => canonicalParams(v)).join(',')}]`;
    return `{${Object.keys(value)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalParams(value[k])}`)
        .join(',')}}`;
}
