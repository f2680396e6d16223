// Bucket operations. Reads and writes run as the caller (RLS on storage.buckets decides:
// no policy, no bucket); existence checks before a delete run as the service role.
import type { Call, StorageContext } from './context.js';
import { errors } from './errors.js';
import { ownerOf } from './identity.js';
import { mustBeValidBucketName } from './limits.js';
import { bucketOrFail } from './objects.js';
import * as rows from './rows.js';
import type { BucketRow } from './rows.js';

export interface BucketInput {
    id: string;
    name: string;
    public?: boolean;
    fileSizeLimit?: number | null;
    allowedMimeTypes?: string[] | null;
    type?: string;
}

/** A bucket limit may lower the global one, never raise it. */
function checkLimit(ctx: StorageContext, limit: number | null | undefined): void {
    if (limit !== null && limit !== undefined && limit > ctx.settings.fileSizeLimit) throw errors.bucketLimitAboveGlobal();
}

export async function createBucket(ctx: StorageContext, call: Call, input: BucketInput): Promise<{ name: string }> {
    mustBeValidBucketName(input.id);
    if (input.type !== undefined && input.type !== 'STANDARD' && input.type !== 'ANALYTICS') throw errors.invalidRequest('body/type must be equal to one of the allowed values');
    checkLimit(ctx, input.fileSizeLimit);
    const { owner, ownerId } = ownerOf(call.identity);
    await ctx.db.run(
        call.identity,
        call.request,
        (q) =>
            rows.insertBucket(q, {
                id: input.id,
                name: input.name,
                owner,
                ownerId,
                public: input.public ?? false,
                fileSizeLimit: input.fileSizeLimit ?? null,
                allowedMimeTypes: input.allowedMimeTypes ?? null,
                type: input.type ?? 'STANDARD',
            }),
        { duplicate: errors.bucketAlreadyExists },
    );
    return { name: input.id };
}

export async function getBucket(ctx: StorageContext, call: Call, id: string): Promise<BucketRow> {
    const bucket = await ctx.db.run(call.identity, call.request, (q) => rows.findBucket(q, id));
    if (!bucket) throw errors.noSuchBucket();
    return bucket;
}

export async function listBuckets(ctx: StorageContext, call: Call, options: rows.BucketListOptions): Promise<BucketRow[]> {
    return ctx.db.run(call.identity, call.request, (q) => rows.listBuckets(q, options));
}

export async function updateBucket(ctx: StorageContext, call: Call, id: string, changes: rows.BucketChanges): Promise<void> {
    checkLimit(ctx, changes.fileSizeLimit);
    const updated = await ctx.db.run(call.identity, call.request, (q) => rows.updateBucket(q, id, changes));
    if (updated === 0) throw errors.noSuchBucket();
}

/** Removes every object of the bucket (rows, then files). Service role only. */
export async function emptyBucket(ctx: StorageContext, call: Call, id: string): Promise<void> {
    if (call.identity.role !== 'service_role') throw errors.serviceRoleOnly();
    await bucketOrFail(ctx, call, id);
    const deleted = await ctx.db.superuser(call.request, (q) => rows.deleteAllObjects(q, id));
    for (const row of deleted) await ctx.blobs.remove(row.version).catch(() => {});
}

export async function deleteBucket(ctx: StorageContext, call: Call, id: string): Promise<void> {
    await bucketOrFail(ctx, call, id);
    if (await ctx.db.superuser(call.request, (q) => rows.bucketHasObjects(q, id))) throw errors.bucketNotEmpty();
    const deleted = await ctx.db.run(call.identity, call.request, (q) => rows.deleteBucket(q, id));
    if (deleted === 0) throw errors.accessDenied();
}
