// Reading one request's decoded parameters the way Stripe validates them: unknown
// top-level names are refused, and each reader names the parameter in its error.
import { invalid, missingParam, unknownParam } from './errors.js';
import type { FormObject, FormValue } from './form.js';

/** Accepted by every endpoint and ignored unless the endpoint expands ids. */
const ALWAYS_ALLOWED = ['expand'];

export class Params {
    constructor(
        readonly raw: FormObject,
        allowed: readonly string[],
        private readonly prefix = '',
    ) {
        for (const name of Object.keys(raw)) {
            if (!allowed.includes(name) && !ALWAYS_ALLOWED.includes(name)) throw unknownParam(this.name(name));
        }
    }

    private name(key: string): string {
        return this.prefix ? `${this.prefix}[${key}]` : key;
    }

    has(key: string): boolean {
        return this.raw[key] !== undefined;
    }

    string(key: string, options: { required?: boolean; max?: number } = {}): string | undefined {
        const value = this.raw[key];
        if (value === undefined || value === '') {
            if (options.required) throw missingParam(this.name(key));
            return undefined;
        }
        if (typeof value !== 'string') throw invalid(`Invalid string: ${this.name(key)} must be a string`, this.name(key));
        if (options.max !== undefined && value.length > options.max) {
            throw invalid(`Invalid string: ${value.slice(0, 20)}...; must be at most ${options.max} characters`, this.name(key));
        }
        return value;
    }

    int(key: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
        const text = this.string(key, { required: options.required });
        if (text === undefined) return undefined;
        if (!/^-?\d+$/.test(text)) throw invalid(`Invalid integer: ${text}`, this.name(key), 'parameter_invalid_integer');
        const value = Number(text);
        if (!Number.isSafeInteger(value)) throw invalid(`Invalid integer: ${text}`, this.name(key), 'parameter_invalid_integer');
        if (options.min !== undefined && value < options.min) {
            throw invalid(`This value must be greater than or equal to ${options.min}.`, this.name(key), 'parameter_invalid_integer');
        }
        if (options.max !== undefined && value > options.max) {
            throw invalid(`This value must be less than or equal to ${options.max}.`, this.name(key), 'parameter_invalid_integer');
        }
        return value;
    }

    bool(key: string): boolean | undefined {
        const text = this.string(key);
        if (text === undefined) return undefined;
        if (text !== 'true' && text !== 'false') throw invalid(`Invalid boolean: ${text}`, this.name(key));
        return text === 'true';
    }

    oneOf<T extends string>(key: string, values: readonly T[], options: { required?: boolean } = {}): T | undefined {
        const text = this.string(key, options);
        if (text === undefined) return undefined;
        if (!(values as readonly string[]).includes(text)) {
            const list = values.length > 1 ? `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}` : values[0];
            throw invalid(`Invalid ${this.name(key)}: must be one of ${list}`, this.name(key));
        }
        return text as T;
    }

    currency(key = 'currency', options: { required?: boolean } = {}): string | undefined {
        const text = this.string(key, options);
        if (text === undefined) return undefined;
        if (!/^[a-zA-Z]{3}$/.test(text)) throw invalid(`Invalid currency: ${text}. Stripe currently supports these currencies: usd, eur, gbp, …`, this.name(key));
        return text.toLowerCase();
    }

    /** `metadata[k]=v`: at most 50 keys of ≤ 40 characters, values ≤ 500; '' unsets a key. */
    metadata(key = 'metadata'): Record<string, string> | undefined {
        const value = this.raw[key];
        if (value === undefined) return undefined;
        if (value === '') return {};
        if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Invalid hash', this.name(key));
        const entries = Object.entries(value);
        if (entries.length > 50) throw invalid('You can specify up to 50 keys.', this.name(key));
        const out: Record<string, string> = {};
        for (const [k, v] of entries) {
            if (typeof v !== 'string') throw invalid('Invalid hash', `${this.name(key)}[${k}]`);
            if (k.length > 40) throw invalid(`Metadata keys can have up to 40 characters. '${k}' exceeds that.`, `${this.name(key)}[${k}]`);
            if (v.length > 500) throw invalid('Metadata values can have up to 500 characters.', `${this.name(key)}[${k}]`);
            out[k] = v;
        }
        return out;
    }

    /** A nested hash, read with its own allowed names. */
    nested(key: string, allowed: readonly string[]): Params | undefined {
        const value = this.raw[key];
        if (value === undefined || value === '') return undefined;
        if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Invalid hash', this.name(key));
        return new Params(value, allowed, this.name(key));
    }

    /** A list of hashes (`line_items[0][…]`), each read with its own allowed names. */
    list(key: string, allowed: readonly string[]): Params[] | undefined {
        const value = this.raw[key];
        if (value === undefined || value === '') return undefined;
        const items: FormValue[] = Array.isArray(value) ? value : typeof value === 'object' ? Object.values(value) : [];
        if (!items.length && typeof value === 'string') throw invalid('Invalid array', this.name(key));
        return items.map((item, i) => {
            if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid('Invalid hash', `${this.name(key)}[${i}]`);
            return new Params(item, allowed, `${this.name(key)}[${i}]`);
        });
    }

    /** A list of strings (`expand[]=a`, `types[0]=b`). */
    strings(key: string): string[] | undefined {
        const value = this.raw[key];
        if (value === undefined || value === '') return undefined;
        const items = Array.isArray(value) ? value : typeof value === 'object' ? Object.values(value) : [value];
        return items.map((item, i) => {
            if (typeof item !== 'string') throw invalid('Invalid array', `${this.name(key)}[${i}]`);
            return item;
        });
    }
}
