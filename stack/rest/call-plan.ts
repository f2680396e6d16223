// Which function an /rpc/<name> request calls: PostgREST's overload resolution (findProc)
// over the schema cache, and its PGRST202 / PGRST203 errors. Plain data in and out.
//
// A function matches when the argument names of the request fit its parameters: all the
// required ones, any of the optional ones, nothing else (an unnamed parameter is named '',
// so `{"": …}` names it). When no function matches by names, a POST may still reach a
// function with a single unnamed parameter whose type the body's Content-Type carries:
// json/jsonb for application/json, text for text/plain, xml for text/xml, bytea for
// application/octet-stream. Several matches are ambiguous (300 PGRST203), listed in the
// order the schema cache keeps overloads in (fewest parameters first).
import { ApiError } from './errors.js';
import { fuzzyBest } from './fuzzy.js';
import { relKey, type PgFunction, type SchemaCache } from './schema-cache.js';

/** How the arguments came: a POST body of one of these kinds, or the query string. */
export type RpcBodyKind = 'json' | 'text' | 'xml' | 'octet' | 'form';

export interface RpcInvocation {
    post: boolean;
    /** Kind of the POST body (ignored for GET/HEAD). */
    body: RpcBodyKind;
    /** Argument names: the keys of the JSON object or form, or the query-string arguments. */
    keys: ReadonlySet<string>;
}

const RAW_TYPE: Partial<Record<RpcBodyKind, string>> = { text: 'text', xml: 'xml', octet: 'bytea' };

const isRaw = (call: RpcInvocation): boolean => call.post && RAW_TYPE[call.body] !== undefined;

/** The parameter a raw body or a whole JSON body goes to (it is the function's only one, unnamed). */
export function takesWholeBody(fn: PgFunction): boolean {
    return fn.args.length === 1 && fn.args[0]!.name === '';
}

function matchesParams(fn: PgFunction, call: RpcInvocation): boolean {
    const { keys } = call;
    if (fn.args.length === 0) return keys.size === 0 && !isRaw(call);
    const required = fn.args.filter((a) => !a.hasDefault).map((a) => a.name);
    const optional = new Set(fn.args.filter((a) => a.hasDefault).map((a) => a.name));
    const rest = [...keys].filter((k) => !optional.has(k));
    return rest.length === new Set(required).size && required.every((r) => keys.has(r));
}

function acceptsBody(fn: PgFunction, call: RpcInvocation): boolean {
    if (!call.post || !takesWholeBody(fn)) return false;
    const type = fn.args[0]!.type;
    return call.body === 'json' ? type === 'json' || type === 'jsonb' : RAW_TYPE[call.body] === type;
}

/** The function an /rpc request calls, or PostgREST's error for none or several. */
export function findFunction(cache: SchemaCache, schema: string, name: string, call: RpcInvocation): PgFunction {
    const overloads = cache.functions.get(relKey(schema, name)) ?? [];
    const byNames: PgFunction[] = [];
    const byBody: PgFunction[] = [];
    for (const fn of overloads) {
        if (matchesParams(fn, call)) byNames.push(fn);
        else if (acceptsBody(fn, call)) byBody.push(fn);
    }
    const found = byNames.length ? byNames : byBody;
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw ambiguousFunction(found);
    throw functionNotFound(cache, schema, name, call, overloads);
}

function signature(fn: PgFunction): string {
    return `${fn.schema}.${fn.name}(${fn.args.map((a) => `${a.name} => ${a.type}`).join(', ')})`;
}

export function ambiguousFunction(candidates: PgFunction[]): ApiError {
    return new ApiError(
        300,
        'PGRST203',
        `Could not choose the best candidate function between: ${candidates.map(signature).join(', ')}`,
        null,
        'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
    );
}

function functionNotFound(cache: SchemaCache, schema: string, name: string, call: RpcInvocation, overloads: PgFunction[]): ApiError {
    const qualified = `${schema}.${name}`;
    const keys = [...call.keys].sort();
    const withoutParams = (text: string) => (keys.length ? text : ' without parameters');
    const rawType = call.post ? RAW_TYPE[call.body] : undefined;
    const message = `Could not find the function ${qualified}${rawType ? `(${rawType})` : withoutParams(`(${keys.join(', ')})`)} in the schema cache`;
    const params = withoutParams(` with parameter${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`);
    const searched = rawType
        ? ` with a single unnamed ${rawType} parameter`
        : call.post && call.body === 'json'
          ? `${params} or with a single unnamed json/jsonb parameter`
          : params;
    const details = `Searched for the function ${qualified}${searched}, but no matches were found in the schema cache.`;
    // No suggestion for a raw body: only the function's type could help, and it has none.
    const hint = rawType ? null : suggestFunction(cache, schema, name, keys, overloads);
    return new ApiError(404, 'PGRST202', message, details, hint);
}

/**
 * PostgREST's "Perhaps you meant…": with overloads of that name, the closest parameter
 * list (as each function declares it) to the request's argument names; otherwise the
 * closest function name of the schema.
 */
function suggestFunction(cache: SchemaCache, schema: string, name: string, keys: string[], overloads: PgFunction[]): string | null {
    const listToText = (names: string[]) => `(${names.join(', ')})`;
    if (overloads.length) {
        const best = fuzzyBest(
            overloads.map((fn) => listToText(fn.args.map((a) => a.name))),
            listToText(keys),
        );
        return best === null ? null : `Perhaps you meant to call the function ${schema}.${name}${best}`;
    }
    const names: string[] = [];
    for (const fns of cache.functions.values()) if (fns[0]?.schema === schema) names.push(fns[0].name);
    const best = fuzzyBest(names, name);
    return best === null ? null : `Perhaps you meant to call the function ${schema}.${best}`;
}
