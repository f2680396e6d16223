// Resumable uploads (TUS 1.0.0) at /upload/resumable, with the maintained tus server and
// its file store, wired the way Supabase Storage wires them:
//   - Upload-Metadata carries bucketName, objectName, contentType, cacheControl, metadata;
//   - every request is authorised: `Authorization: Bearer <jwt>`, or on
//     /upload/resumable/sign an `x-signature` holding a signed upload URL's token;
//     creating (and continuing) an upload probes the caller's INSERT/upsert under RLS;
//   - the size limit is the bucket's (or global) one, the MIME list is checked at creation;
//   - when the last byte arrives, the finished file becomes an object version (a rename,
//     same file system) and the row is committed, as for a plain upload;
//   - errors answer with their real status and a plain-text body (Storage's TUS quirk).
// Parts of unfinished uploads stay in <data>/tus until they finish or expire (24 h).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Server, type Upload } from '@tus/server';
import { FileStore } from '@tus/file-store';
import type { FetchHandler } from '../http.js';
import type { Call, StorageContext } from './context.js';
import type { RequestContext } from './database.js';
import { errors, StorageError } from './errors.js';
import { SUPERUSER, type Authenticate, type Identity } from './identity.js';
import { mustBeAllowedMimeType, mustBeValidBucketName, mustBeValidKey } from './limits.js';
import { bucketOrFail, canUpload, commitObject, uploadRules, type UploadRequest } from './objects.js';

export const TUS_EXPIRY_MS = 24 * 60 * 60 * 1000;

export interface ResumableUploads {
    handler: FetchHandler;
    /** Removes expired uploads and config files whose data is gone (startup sweep). */
    sweep(): Promise<number>;
}

interface Target {
    bucketId: string;
    name: string;
    contentType: string | undefined;
    cacheControl: string | undefined;
    userMetadata: string | undefined;
}

function targetOf(metadata: Record<string, string | null> | undefined): Target {
    const bucketId = metadata?.bucketName ?? undefined;
    const name = metadata?.objectName ?? undefined;
    if (!bucketId) throw errors.invalidRequest('Upload-Metadata must include bucketName');
    if (!name) throw errors.invalidRequest('Upload-Metadata must include objectName');
    mustBeValidBucketName(bucketId);
    mustBeValidKey(name);
    return {
        bucketId,
        name,
        contentType: metadata?.contentType ?? undefined,
        cacheControl: metadata?.cacheControl ?? undefined,
        userMetadata: metadata?.metadata ?? undefined,
    };
}

/** tus hooks report failures as {status_code, body}; Storage's errors keep their real status. */
function asTusError(error: unknown): { status_code: number; body: string } {
    if (error instanceof StorageError) return { status_code: error.statusCode, body: error.message };
    const tus = error as { status_code?: unknown; body?: unknown };
    if (typeof tus?.status_code === 'number' && typeof tus.body === 'string') return { status_code: tus.status_code, body: tus.body };
    return { status_code: 500, body: 'Internal Server Error' };
}

export function createResumableUploads(ctx: StorageContext, authenticate: Authenticate): ResumableUploads {
    const directory = path.join(ctx.blobs.root, 'tus');
    const store = new FileStore({ directory, expirationPeriodInMilliseconds: TUS_EXPIRY_MS });
    /** The metadata a POST carries, recorded when tus names the upload (before it is authorised). */
    const created = new WeakMap<Request, Record<string, string | null> | undefined>();
    /** Who each request is, once authorised, and whether it may overwrite. */
    const callers = new WeakMap<Request, { call: Call; upsert: boolean }>();

    const contextOf = (req: Request, operation: string): RequestContext => {
        const headers: Record<string, string> = {};
        req.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
        return { method: req.method, path: new URL(req.url).pathname, headers, operation };
    };

    const targetFor = async (req: Request, id: string): Promise<Target> => {
        if (req.method === 'POST') return targetOf(created.get(req));
        const upload = await store.getUpload(id);
        return targetOf(upload.metadata);
    };

    const identityFor = async (req: Request, signed: boolean, target: Target): Promise<{ identity: Identity; upsert: boolean }> => {
        if (!signed) return { identity: await authenticate(req.headers), upsert: req.headers.get('x-upsert') === 'true' };
        const token = req.headers.get('x-signature');
        if (!token) throw errors.invalidRequest("headers must have required property 'x-signature'");
        const claims = await ctx.signer.verifyUpload(token, `${target.bucketId}/${target.name}`);
        // The signer was authorised when the URL was made; the upload runs as them, upsert as signed.
        return { identity: { role: 'service_role', claims: { role: 'service_role' }, jwt: '', sub: claims.owner }, upsert: claims.upsert };
    };

    const make = (signed: boolean) => {
        const server = new Server({
            path: signed ? '/upload/resumable/sign' : '/upload/resumable',
            datastore: store,
            respectForwardedHeaders: true,
            generateUrl: (req, { proto, host, path: route, id }) => `${proto}://${host}${req.headers.get('x-forwarded-prefix') ?? ''}${route}/${id}`,
            namingFunction: (req, metadata) => {
                created.set(req as unknown as Request, metadata);
                return crypto.randomUUID();
            },
            maxSize: async (req, id) => {
                const target = await targetFor(req as unknown as Request, id ?? '');
                const bucket = await bucketOrFail(ctx, { identity: SUPERUSER, request: contextOf(req as unknown as Request, 'storage.tus.upload') }, target.bucketId);
                return uploadRules(ctx, bucket).limit;
            },
            onIncomingRequest: async (req, id) => {
                const request = req as unknown as Request;
                const target = await targetFor(request, id);
                const { identity, upsert } = await identityFor(request, signed, target);
                const call: Call = { identity, request: contextOf(request, request.method === 'POST' ? 'storage.tus.upload_create' : 'storage.tus.upload_part') };
                const bucket = await bucketOrFail(ctx, call, target.bucketId);
                if (request.method === 'POST' || request.method === 'PATCH') {
                    if (!signed) await canUpload(ctx, call, { bucketId: target.bucketId, name: target.name, upsert, owner: identity });
                    if (request.method === 'POST') mustBeAllowedMimeType(target.contentType ?? 'application/octet-stream', uploadRules(ctx, bucket).allowedMimeTypes);
                }
                callers.set(request, { call, upsert });
            },
            onUploadFinish: async (req, upload: Upload) => {
                const request = req as unknown as Request;
                const caller = callers.get(request);
                if (!caller) throw errors.accessDenied();
                const { call, upsert } = caller;
                const target = targetOf(upload.metadata);
                const request_: UploadRequest = { bucketId: target.bucketId, name: target.name, upsert, owner: call.identity };
                let userMetadata: Record<string, unknown> | null = null;
                if (target.userMetadata) {
                    try {
                        userMetadata = JSON.parse(target.userMetadata) as Record<string, unknown>;
                    } catch {
                        throw errors.invalidRequest('metadata must be a JSON object');
                    }
                }
                const cacheControl = target.cacheControl ? (/^\d+$/.test(target.cacheControl) ? `max-age=${target.cacheControl}` : target.cacheControl) : 'no-cache';
                const blob = await ctx.blobs.adopt(path.join(directory, upload.id));
                await commitObject(ctx, call, request_, blob, { mimeType: target.contentType ?? 'application/octet-stream', cacheControl, userMetadata });
                await store.configstore.delete(upload.id);
                return {};
            },
            onResponseError: (_req, error) => asTusError(error),
        });
        return server;
    };

    const plain = make(false);
    const signed = make(true);

    return {
        handler: async (request) => {
            const url = new URL(request.url);
            const isSigned = url.pathname === '/upload/resumable/sign' || url.pathname.startsWith('/upload/resumable/sign/');
            return (isSigned ? signed : plain).handleWeb(request);
        },
        async sweep() {
            let removed = await store.deleteExpired().catch(() => 0);
            for (const entry of await fsp.readdir(directory).catch(() => [] as string[])) {
                if (!entry.endsWith('.json')) continue;
                const id = entry.slice(0, -'.json'.length);
                const exists = await fsp.stat(path.join(directory, id)).then(
                    () => true,
                    () => false,
                );
                if (!exists) {
                    await fsp.rm(path.join(directory, entry), { force: true });
                    removed++;
                }
            }
            return removed;
        },
    };
}
