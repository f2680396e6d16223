// What Storage accepts: bucket and object names, MIME types against a bucket's list, and
// sizes — "50MiB" in config.toml (binary units, as the Supabase CLI reads them) and
// "<n>MB" in the bucket API (decimal units, as Storage parses them).
import { errors } from './errors.js';

/** Characters Storage allows in object keys (its isValidKey). */
const KEY_PATTERN = /^(\w|\/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/;
/** Bucket names: the same without `/`. */
const BUCKET_PATTERN = /^(\w|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/;

export const MAX_KEY_LENGTH = 1024;
export const MAX_BUCKET_NAME_LENGTH = 100;
/** Names per bulk call (remove, signed URLs). */
export const MAX_BULK_NAMES = 1000;

export function isValidKey(key: string): boolean {
    return key.length > 0 && key.length <= MAX_KEY_LENGTH && KEY_PATTERN.test(key);
}

export function mustBeValidKey(key: string): void {
    if (!isValidKey(key)) throw errors.invalidKey(key);
}

export function mustBeValidBucketName(name: string): void {
    if (!name || name.length > MAX_BUCKET_NAME_LENGTH || !BUCKET_PATTERN.test(name) || name.trim() !== name) throw errors.invalidBucketName();
}

/**
 * Storage's MIME check: `type/sub` exactly, `type/*` for a whole type, `*` (or `*\/*`) for
 * anything. Parameters are part of the comparison (`text/plain;charset=UTF-8` is not `text/plain`).
 */
export function mustBeAllowedMimeType(mimeType: string, allowed: readonly string[] | null | undefined): void {
    if (!allowed || allowed.length === 0) return;
    const [type, sub, ...rest] = mimeType.split('/');
    if (type === undefined || sub === undefined || rest.length) throw errors.invalidMimeType(mimeType);
    for (const entry of allowed) {
        if (entry === '*' || entry === '*/*') return;
        const [allowedType, allowedSub] = entry.split('/');
        if (allowedType === type && (allowedSub === '*' || allowedSub === sub)) return;
    }
    throw errors.invalidMimeType(mimeType);
}

/** Bucket API sizes: a byte count or "<n>GB|MB|KB|B" in decimal units; undefined for null. */
export function parseApiFileSize(value: unknown): number | null | undefined {
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (typeof value === 'number') {
        if (!Number.isInteger(value) || value < 0) throw errors.invalidFileSizeLimit();
        return value;
    }
    if (typeof value !== 'string') throw errors.invalidFileSizeLimit();
    if (/^\d+$/.test(value)) return Number(value);
    const match = /^(\d+)\s*(GB|MB|KB|B)$/i.exec(value.trim());
    if (!match) throw errors.invalidFileSizeLimit();
    const factor = { GB: 1e9, MB: 1e6, KB: 1e3, B: 1 }[match[2]!.toUpperCase() as 'GB' | 'MB' | 'KB' | 'B'];
    return Number(match[1]) * factor;
}

/** config.toml sizes ("50MiB", "5MB", "500KB", or bytes): binary units, case-insensitive, as the CLI reads them. */
export function parseConfigSize(value: unknown): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    if (typeof value !== 'string') return undefined;
    const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value.trim());
    if (!match) return undefined;
    const power = match[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
    return Math.floor(Number(match[1]) * 1024 ** power);
}

/** The effective upload limit: the global one, lowered by the bucket's. */
export function uploadLimit(globalLimit: number, bucketLimit: number | string | null | undefined): number {
    const bucket = bucketLimit === null || bucketLimit === undefined ? undefined : Number(bucketLimit);
    return bucket !== undefined && bucket >= 0 ? Math.min(globalLimit, bucket) : globalLimit;
}
