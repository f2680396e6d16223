// [storage.buckets.<name>] of config.toml applied at start, as `supabase start` seeds
// buckets: each bucket is created or updated (public, file_size_limit, allowed_mime_types),
// then every file under its objects_path is uploaded (upsert) under its relative path.
// Files whose bytes are already stored (same MD5) are left alone.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Call, StorageContext } from './context.js';
import { SUPERUSER } from './identity.js';
import { mustBeAllowedMimeType } from './limits.js';
import { bucketOrFail, storeObject, uploadRules } from './objects.js';
import * as rows from './rows.js';
import type { ConfiguredBucket } from './settings.js';

const MIME_TYPES: Record<string, string> = {
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
    '.webp': 'image/webp',
    '.avif': 'image/avif',
    '.svg': 'image/svg+xml',
    '.pdf': 'application/pdf',
    '.txt': 'text/plain',
    '.json': 'application/json',
    '.html': 'text/html',
    '.css': 'text/css',
    '.js': 'text/javascript',
    '.csv': 'text/csv',
};

export function mimeTypeOf(file: string): string {
    return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

async function filesUnder(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) found.push(...(await filesUnder(full)));
        else if (entry.isFile()) found.push(full);
    }
    return found.sort();
}

async function md5(file: string): Promise<string> {
    const hash = createHash('md5');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
}

export interface SeedResult {
    buckets: number;
    uploaded: number;
    unchanged: number;
}

export async function seedBuckets(ctx: StorageContext, configured: ConfiguredBucket[]): Promise<SeedResult> {
    const call: Call = { identity: SUPERUSER, request: { method: 'POST', path: '/bucket', headers: {}, operation: 'storage.bucket.create' } };
    const result: SeedResult = { buckets: 0, uploaded: 0, unchanged: 0 };
    for (const bucket of configured) {
        await ctx.db.superuser(call.request, async (q) => {
            const existing = await rows.findBucket(q, bucket.name);
            const settings = { public: bucket.public, fileSizeLimit: bucket.fileSizeLimit, allowedMimeTypes: bucket.allowedMimeTypes };
            if (existing) await rows.updateBucket(q, bucket.name, settings);
            else await rows.insertBucket(q, { id: bucket.name, name: bucket.name, owner: null, ownerId: null, type: 'STANDARD', ...settings });
        });
        result.buckets++;
        if (!bucket.objectsPath) continue;
        if (!fs.existsSync(bucket.objectsPath)) {
            ctx.log({ level: 'warn', msg: 'storage: objects_path does not exist', bucket: bucket.name, objects_path: bucket.objectsPath });
            continue;
        }
        const row = await bucketOrFail(ctx, call, bucket.name);
        const { limit, allowedMimeTypes } = uploadRules(ctx, row);
        for (const file of await filesUnder(bucket.objectsPath)) {
            const name = path.relative(bucket.objectsPath, file).split(path.sep).join('/');
            const current = await ctx.db.superuser(call.request, (q) => rows.findObject(q, bucket.name, name));
            const stored = current?.version ? await ctx.blobs.stat(current.version) : undefined;
            if (stored && current?.metadata?.eTag === `"${await md5(file)}"`) {
                result.unchanged++;
                continue;
            }
            const mimeType = mimeTypeOf(file);
            mustBeAllowedMimeType(mimeType, allowedMimeTypes);
            await storeObject(ctx, call, { bucketId: bucket.name, name, upsert: true, owner: SUPERUSER }, { bytes: fs.createReadStream(file), mimeType, cacheControl: 'max-age=3600', userMetadata: null }, limit);
            result.uploaded++;
        }
    }
    return result;
}
