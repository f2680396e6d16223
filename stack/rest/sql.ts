// SQL text helpers: identifiers are always quoted, literals only for trusted catalog text
// and JSON keys; request values go through Params as bound parameters.
import { ApiError } from './errors.js';

export function ident(name: string): string {
    if (name.includes('\u0000')) throw new ApiError(400, 'PGRST100', 'identifier contains a NUL character');
    return '"' + name.replaceAll('"', '""') + '"';
}

export function qualified(schema: string, name: string): string {
    return `${ident(schema)}.${ident(name)}`;
}

export function literal(value: string): string {
    if (value.includes('\u0000')) throw new ApiError(400, 'PGRST100', 'value contains a NUL character');
    return "'" + value.replaceAll("'", "''") + "'";
}

/** Collects bound parameter values; `add` returns the placeholder. */
export class Params {
    readonly values: unknown[] = [];
    add(value: unknown): string {
        this.values.push(value);
        return `$${this.values.length}`;
    }
}
