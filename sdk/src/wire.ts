// The SDK's inputs are the contract's types with camelCase keys: `CamelKeys<T>` derives
// them from the zod schemas' types (never a hand-written copy), and `toWire` turns such
// an input back into the contract's snake_case body, key by key, without a list of
// fields that could fall behind the contract.

/** `cart_id` → `cartId`, `p_before_id` (with `prefix` 'p_') → `beforeId`. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type StripPrefix<K, Prefix extends string> = K extends `${Prefix}${infer Rest}` ? Rest : K;

/** T with every key (deeply, through arrays and objects) in camelCase, `Prefix` removed first. */
export type CamelKeys<T, Prefix extends string = ''> = T extends readonly (infer U)[]
    ? CamelKeys<U>[]
    : T extends object
      ? { [K in keyof T as K extends string ? CamelCase<StripPrefix<K, Prefix>> : K]: CamelKeys<T[K]> }
      : T;

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The contract's body for a camelCase input: keys in snake_case (with `prefix`), undefined left out. */
export function toWire<T>(input: unknown, prefix = ''): T {
    const convert = (value: unknown, keyPrefix: string): unknown => {
        if (Array.isArray(value)) return value.map((item) => convert(item, ''));
        if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
        return Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
                .filter(([, v]) => v !== undefined)
                .map(([key, v]) => [keyPrefix + snake(key), convert(v, '')]),
        );
    };
    return convert(input, prefix) as T;
}
