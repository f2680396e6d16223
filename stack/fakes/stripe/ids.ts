// Stripe-shaped ids: a prefix and random base62 characters (`pi_3QkZr2LkdIwHu7ix0Jb5NqYc`).
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomBase62(length: number): string {
    const bytes = randomBytes(length);
    let out = '';
    for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % 62];
    return out;
}

export function newId(prefix: string, length = 24): string {
    return `${prefix}_${randomBase62(length)}`;
}
