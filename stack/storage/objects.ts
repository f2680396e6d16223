// Object operations, in Storage's order of checks: the bucket is looked up as the service
// role (NoSuchBucket), the caller's permission is checked by running the caller's own
// statement under RLS (a rolled-back probe for uploads), the bytes are written and made
// durable, and only then is the row committed; replaced or deleted files are removed after
// the commit. See blobs.ts for why that order keeps rows and files consistent.
import type { Readable } from 'node:stream';
import type { StoredBlob } from './blobs.js';
import type { Call, StorageContext } from './context.js';
import { errors, StorageError } from './errors.js';
import { ownerOf, type Identity } from './identity.js';
import { mustBeAllowedMimeType, mustBeValidKey, uploadLimit } from './limits.js';
import * as rows from './rows.js';
import type { BucketRow, ObjectMetadata, ObjectRow } from './rows.js';

export async function bucketOrFail(ctx: StorageContext, call: Call, bucketId: string): Promise<BucketRow> {
    const bucket = await ctx.db.superuser(call.request, (q) => rows.findBucket(q, bucketId));
    if (!bucket) throw errors.noSuchBucket();
    return bucket;
}

function metadataOf(blob: StoredBlob, mimeType: string, cacheControl: string): ObjectMetadata {
    return {
        eTag: `"${blob.md5}"`,
        size: blob.size,
        mimetype: mimeType,
        cacheControl,
        lastModified: blob.lastModified.toISOString(),
        contentLength: blob.size,
        httpStatusCode: 200,
    };
}

// ── uploads ─────────────────────────────────────────────────────────────────────────

export interface UploadRequest {
    bucketId: string;
    name: string;
    upsert: boolean;
    /** Whose object it becomes (the caller, or the signer of an upload URL). */
    owner: Identity;
}

export interface UploadContent {
    bytes: Readable | ReadableStream<Uint8Array>;
    mimeType: string;
    cacheControl: string;
    userMetadata: Record<string, unknown> | null;
}

/**
 * May `call` write this object? Runs the caller's insert (or upsert) under RLS and rolls
 * it back, as Storage does before it reads a byte of the body.
 */
export async function canUpload(ctx: StorageContext, call: Call, target: UploadRequest): Promise<void> {
    const { owner, ownerId } = ownerOf(target.owner);
    const probe = { bucketId: target.bucketId, name: target.name, owner, ownerId, version: '1', metadata: {}, userMetadata: null };
    await ctx.db.probe(call.identity, call.request, (q) => (target.upsert ? rows.upsertObject(q, probe) : rows.insertObject(q, probe)));
}

/** The size limit and MIME list that apply to uploads into `bucket`. */
export function uploadRules(ctx: StorageContext, bucket: BucketRow): { limit: number; allowedMimeTypes: string[] | null } {
    return { limit: uploadLimit(ctx.settings.fileSizeLimit, bucket.file_size_limit), allowedMimeTypes: bucket.allowed_mime_types };
}

/** Writes the bytes, then commits the row as the service role; returns the row. */
export async function storeObject(ctx: StorageContext, call: Call, target: UploadRequest, content: UploadContent, limit: number): Promise<ObjectRow> {
    const blob = await ctx.blobs.write(content.bytes, limit);
    return commitObject(ctx, call, target, blob, content);
}

/** Points the object's row at `blob` (a complete, durable file); removes `blob` if that fails. */
export async function commitObject(ctx: StorageContext, call: Call, target: UploadRequest, blob: StoredBlob, content: Omit<UploadContent, 'bytes'>): Promise<ObjectRow> {
    const { owner, ownerId } = ownerOf(target.owner);
    let replaced: string | null = null;
    let row: ObjectRow;
    try {
        row = await ctx.db.superuser(call.request, async (q) => {
            const write = {
                bucketId: target.bucketId,
                name: target.name,
                owner,
                ownerId,
                version: blob.version,
                metadata: metadataOf(blob, content.mimeType, content.cacheControl),
                userMetadata: content.userMetadata,
            };
            // Without upsert a plain insert: a concurrent upload of the same new key gets 409.
            if (!target.upsert) return rows.createObject(q, write);
            // With it, writers of one key take turns, so each sees the version it replaces.
            await rows.lockObject(q, target.bucketId, target.name);
            const current = await rows.findObject(q, target.bucketId, target.name, { forUpdate: true });
            replaced = current?.version ?? null;
            return rows.upsertObject(q, write);
        });
    } catch (error) {
        await ctx.blobs.remove(blob.version);
        throw error;
    }
    await removeQuietly(ctx, replaced);
    return row;
}

/** A file whose row is gone: removing it can fail harmlessly (the startup sweep retries). */
async function removeQuietly(ctx: StorageContext, version: string | null | undefined): Promise<void> {
    await ctx.blobs.remove(version).catch((error: unknown) => ctx.log({ level: 'warn', msg: 'storage: could not remove a replaced file', version, error: String(error) }));
}

export async function upload(ctx: StorageContext, call: Call, target: UploadRequest, parse: (limit: number) => Promise<UploadContent>): Promise<ObjectRow> {
    mustBeValidKey(target.name);
    const bucket = await bucketOrFail(ctx, call, target.bucketId);
    await canUpload(ctx, call, target);
    const { limit, allowedMimeTypes } = uploadRules(ctx, bucket);
    const content = await parse(limit);
    mustBeAllowedMimeType(content.mimeType, allowedMimeTypes);
    return storeObject(ctx, call, target, content, limit);
}

// ── reads ───────────────────────────────────────────────────────────────────────────

/** How a read is authorised: the caller's SELECT policy, a public bucket, or a verified signature. */
export type ReadAccess = 'caller' | 'public' | 'signed';

export async function readableObject(ctx: StorageContext, call: Call, bucketId: string, name: string, access: ReadAccess): Promise<{ bucket: BucketRow; object: ObjectRow }> {
    const bucket = await bucketOrFail(ctx, call, bucketId);
    if (access === 'public' && !bucket.public) throw errors.noSuchBucket();
    const object =
        access === 'caller'
            ? await ctx.db.run(call.identity, call.request, (q) => rows.findObject(q, bucketId, name))
            : await ctx.db.superuser(call.request, (q) => rows.findObject(q, bucketId, name));
    if (!object) throw errors.noSuchKey();
    return { bucket, object };
}

/** Object info as Storage's /object/info answers it. */
export function infoOf(object: ObjectRow): Record<string, unknown> {
    return {
        id: object.id,
        name: object.name,
        version: object.version,
        bucket_id: object.bucket_id,
        size: object.metadata?.size ?? null,
        content_type: object.metadata?.mimetype ?? null,
        cache_control: object.metadata?.cacheControl ?? null,
        etag: object.metadata?.eTag ?? null,
        metadata: object.user_metadata ?? {},
        last_modified: object.metadata?.lastModified ?? object.updated_at,
        created_at: object.created_at,
    };
}

export interface ListV1Body {
    prefix: string;
    limit: number;
    offset: number;
    sortBy: { column: string; order: string };
    search: string;
}

export async function list(ctx: StorageContext, call: Call, bucketId: string, body: ListV1Body): Promise<rows.SearchRow[]> {
    await bucketOrFail(ctx, call, bucketId);
    let prefix = body.prefix;
    if (prefix.length > 0 && !prefix.endsWith('/')) prefix = `${prefix}/`;
    return ctx.db.run(call.identity, call.request, (q) =>
        rows.searchObjects(q, bucketId, prefix, { limit: body.limit, offset: body.offset, search: body.search, sortColumn: body.sortBy.column, sortOrder: body.sortBy.order }),
    );
}

export interface ListV2Body {
    prefix: string;
    limit: number;
    cursor?: string;
    withDelimiter: boolean;
    sortBy: { column: 'name' | 'created_at' | 'updated_at'; order: 'asc' | 'desc' };
}

interface Cursor {
    after?: string;
    offset?: number;
}

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(raw: string): Cursor {
    try {
        const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
        if (typeof value === 'object' && value !== null) return value;
    } catch {
        // fall through
    }
    throw errors.invalidRequest('Invalid cursor');
}

export async function listV2(ctx: StorageContext, call: Call, bucketId: string, body: ListV2Body): Promise<Record<string, unknown>> {
    await bucketOrFail(ctx, call, bucketId);
    const cursor = body.cursor ? decodeCursor(body.cursor) : {};
    const byName = body.sortBy.column === 'name';
    const found = await ctx.db.run(call.identity, call.request, (q) =>
        rows.listObjectsV2(q, bucketId, {
            prefix: body.prefix,
            delimiter: body.withDelimiter,
            after: byName ? cursor.after : undefined,
            offset: byName ? undefined : cursor.offset,
            limit: body.limit + 1,
            sortColumn: body.sortBy.column,
            sortOrder: body.sortBy.order,
        }),
    );
    const hasNext = found.length > body.limit;
    const page = found.slice(0, body.limit);
    // As Storage's search_v2: `name` is the full path (folders end in '/'), `key` the part
    // below the prefix's folder (a folder's without the trailing '/').
    const folderOfPrefix = body.prefix.slice(0, body.prefix.lastIndexOf('/') + 1);
    const relative = (path: string) => path.slice(folderOfPrefix.length).replace(/\/$/, '');
    const last = page[page.length - 1];
    return {
        hasNext,
        nextCursor: hasNext && last ? encodeCursor(byName ? { after: last.key } : { offset: (cursor.offset ?? 0) + page.length }) : undefined,
        folders: page.filter((r) => r.is_folder).map((r) => ({ name: r.key, key: relative(r.key) })),
        objects: page
            .filter((r) => !r.is_folder)
            .map((r) => ({
                id: r.id,
                name: r.key,
                key: relative(r.key),
                metadata: r.metadata,
                created_at: r.created_at,
                updated_at: r.updated_at,
                last_accessed_at: r.last_accessed_at,
            })),
    };
}

// ── move, copy, delete ──────────────────────────────────────────────────────────────

export interface Relocation {
    bucketId: string;
    sourceKey: string;
    destinationBucket: string;
    destinationKey: string;
}

/** Move: the caller's UPDATE (USING on the source row, WITH CHECK on the new one) decides. */
export async function move(ctx: StorageContext, call: Call, r: Relocation): Promise<void> {
    mustBeValidKey(r.destinationKey);
    await bucketOrFail(ctx, call, r.bucketId);
    if (r.destinationBucket !== r.bucketId) await bucketOrFail(ctx, call, r.destinationBucket);
    const source = await ctx.db.superuser(call.request, (q) => rows.findObject(q, r.bucketId, r.sourceKey));
    if (!source) throw errors.noSuchKey();
    if (r.bucketId === r.destinationBucket && r.sourceKey === r.destinationKey) return;
    const blob = source.version ? await ctx.blobs.duplicate(source.version) : undefined;
    try {
        await ctx.db.run(call.identity, call.request, async (q) => {
            const visible = await rows.findObject(q, r.bucketId, r.sourceKey, { forUpdate: true });
            if (!visible) throw errors.noSuchKey();
            const moved = await rows.renameObject(q, {
                bucketId: r.bucketId,
                name: r.sourceKey,
                toBucketId: r.destinationBucket,
                toName: r.destinationKey,
                version: blob?.version ?? visible.version,
            });
            if (!moved) throw errors.noSuchKey();
        });
    } catch (error) {
        await ctx.blobs.remove(blob?.version);
        throw error;
    }
    await removeQuietly(ctx, source.version);
}

export interface CopyOptions {
    upsert: boolean;
    copyMetadata: boolean;
    metadata?: { cacheControl?: string; mimetype?: string };
}

/** Copy: SELECT on the source, INSERT (or upsert) on the target, both as the caller. */
export async function copy(ctx: StorageContext, call: Call, r: Relocation, options: CopyOptions): Promise<ObjectRow> {
    mustBeValidKey(r.destinationKey);
    await bucketOrFail(ctx, call, r.bucketId);
    const destination = r.destinationBucket !== r.bucketId ? await bucketOrFail(ctx, call, r.destinationBucket) : undefined;
    const source = await ctx.db.run(call.identity, call.request, (q) => rows.findObject(q, r.bucketId, r.sourceKey));
    if (!source || !source.version) throw errors.noSuchKey();
    const target: UploadRequest = { bucketId: r.destinationBucket, name: r.destinationKey, upsert: options.upsert, owner: call.identity };
    await canUpload(ctx, call, target);
    const mimeType = options.metadata?.mimetype ?? source.metadata?.mimetype ?? 'application/octet-stream';
    if (destination) {
        const { limit, allowedMimeTypes } = uploadRules(ctx, destination);
        if ((source.metadata?.size ?? 0) > limit) throw errors.entityTooLarge();
        mustBeAllowedMimeType(mimeType, allowedMimeTypes);
    }
    const blob = await ctx.blobs.duplicate(source.version);
    return commitObject(ctx, call, target, blob, {
        mimeType,
        cacheControl: options.metadata?.cacheControl ?? source.metadata?.cacheControl ?? 'no-cache',
        userMetadata: options.copyMetadata ? source.user_metadata : null,
    });
}

export async function removeOne(ctx: StorageContext, call: Call, bucketId: string, name: string): Promise<void> {
    await bucketOrFail(ctx, call, bucketId);
    const existing = await ctx.db.superuser(call.request, (q) => rows.findObject(q, bucketId, name));
    if (!existing) throw errors.noSuchKey();
    const deleted = await ctx.db.run(call.identity, call.request, (q) => rows.deleteObjects(q, bucketId, [name]));
    if (deleted.length === 0) throw errors.accessDenied();
    for (const row of deleted) await removeQuietly(ctx, row.version);
}

export async function removeMany(ctx: StorageContext, call: Call, bucketId: string, names: string[]): Promise<ObjectRow[]> {
    await bucketOrFail(ctx, call, bucketId);
    const deleted = await ctx.db.run(call.identity, call.request, (q) => rows.deleteObjects(q, bucketId, names));
    for (const row of deleted) await removeQuietly(ctx, row.version);
    return deleted;
}

// ── signed URLs ─────────────────────────────────────────────────────────────────────

const NOT_FOUND_OR_DENIED = 'Either the object does not exist or you do not have access to it';

/** The object must be visible to the caller (SELECT policy) to be signed. */
export async function signDownload(ctx: StorageContext, call: Call, bucketId: string, name: string, expiresIn: number, transformations?: string): Promise<string> {
    await readableObject(ctx, call, bucketId, name, 'caller');
    const url = `${bucketId}/${name}`;
    const token = await ctx.signer.signDownload({ url, ...(transformations ? { transformations } : {}) }, expiresIn);
    return `/${transformations ? 'render/image' : 'object'}/sign/${url}?token=${token}`;
}

export async function signDownloads(ctx: StorageContext, call: Call, bucketId: string, names: string[], expiresIn: number): Promise<Array<{ error: string | null; path: string; signedURL: string | null }>> {
    await bucketOrFail(ctx, call, bucketId);
    const visible = await ctx.db.run(call.identity, call.request, (q) =>
        q<{ name: string }>(`select name from storage.objects where bucket_id = $1 and name = any($2::text[])`, [bucketId, names]),
    );
    const found = new Set(visible.map((r) => r.name));
    return Promise.all(
        names.map(async (name) => {
            if (!found.has(name)) return { error: NOT_FOUND_OR_DENIED, path: name, signedURL: null };
            const url = `${bucketId}/${name}`;
            const token = await ctx.signer.signDownload({ url }, expiresIn);
            return { error: null, path: name, signedURL: `/object/sign/${url}?token=${token}` };
        }),
    );
}

/** A signed upload URL: the caller's permission is checked now, the upload later runs as its signer. */
export async function signUpload(ctx: StorageContext, call: Call, bucketId: string, name: string, upsert: boolean): Promise<{ url: string; token: string }> {
    mustBeValidKey(name);
    await bucketOrFail(ctx, call, bucketId);
    await canUpload(ctx, call, { bucketId, name, upsert, owner: call.identity });
    const url = `${bucketId}/${name}`;
    const token = await ctx.signer.signUpload({ url, owner: call.identity.sub, upsert });
    return { url: `/object/upload/sign/${url}?token=${token}`, token };
}

export function isStorageError(error: unknown): error is StorageError {
    return error instanceof StorageError;
}
