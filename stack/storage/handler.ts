// One request end to end: route (routes.ts) → identity → validated body (zod) → the
// operation (buckets.ts / objects.ts, which run SQL as the caller) → Storage's response
// shape, or its error body (errors.ts).
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FetchHandler } from '../http.js';
import * as buckets from './buckets.js';
import type { Call, StorageContext } from './context.js';
import type { RequestContext } from './database.js';
import { errorResponse, errors, StorageError } from './errors.js';
import type { Authenticate, AuthenticateOptional, Identity } from './identity.js';
import { MAX_BULK_NAMES, mustBeAllowedMimeType, parseApiFileSize } from './limits.js';
import * as objects from './objects.js';
import type { ObjectRow } from './rows.js';
import { contentDisposition, matchRoute, OPERATIONS, parseRange, type Route } from './routes.js';
import { decodeTransformation, encodeTransformation, MAX_TRANSFORM_SOURCE_BYTES, parseTransformation, renderImage, transformationFromBody } from './transform.js';
import { parseUploadBody } from './upload-body.js';

export interface HandlerDeps {
    ctx: StorageContext;
    authenticate: Authenticate;
    authenticateOptional: AuthenticateOptional;
    /** TUS (resumable uploads) lives in tus.ts. */
    resumable: FetchHandler;
}

const ANON: Identity = { role: 'anon', claims: { role: 'anon' }, jwt: '', sub: undefined };

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

async function readJson<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
    const text = await request.text();
    let value: unknown = {};
    if (text.trim()) {
        try {
            value = JSON.parse(text);
        } catch {
            throw errors.invalidRequest("Body is not valid JSON but content-type is set to 'application/json'");
        }
    }
    const result = schema.safeParse(value);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        const field = issue.path.length ? `/${issue.path.join('/')}` : '';
        throw errors.invalidRequest(`body${field} ${issue.message}`);
    }
    return result.data;
}

const FileSize = z.union([z.number(), z.string(), z.null()]).optional();

const CreateBucket = z.object({
    name: z.string().min(1),
    id: z.string().optional(),
    public: z.boolean().optional(),
    file_size_limit: FileSize,
    allowed_mime_types: z.array(z.string()).nullable().optional(),
    type: z.string().optional(),
});

const UpdateBucket = z
    .object({ public: z.boolean().optional(), file_size_limit: FileSize, allowed_mime_types: z.array(z.string()).nullable().optional() })
    .refine((b) => b.public !== undefined || b.file_size_limit !== undefined || b.allowed_mime_types !== undefined, 'must have at least 1 property');

const SortOrder = z.enum(['asc', 'desc']).catch('asc');

const ListV1 = z.object({
    prefix: z.string().default(''),
    limit: z.number().int().min(0).default(100),
    offset: z.number().int().min(0).default(0),
    search: z.string().default(''),
    sortBy: z.object({ column: z.string().default('name'), order: z.string().default('asc') }).default({ column: 'name', order: 'asc' }),
});

const ListV2 = z.object({
    prefix: z.string().default(''),
    limit: z.number().int().min(1).max(1000).default(1000),
    cursor: z.string().optional(),
    with_delimiter: z.boolean().default(false),
    sortBy: z
        .object({ column: z.enum(['name', 'created_at', 'updated_at']).default('name'), order: SortOrder.default('asc') })
        .default({ column: 'name', order: 'asc' }),
});

const Relocate = z.object({
    bucketId: z.string().min(1),
    sourceKey: z.string().min(1),
    destinationKey: z.string().min(1),
    destinationBucket: z.string().min(1).optional(),
    copyMetadata: z.boolean().optional(),
    metadata: z.object({ cacheControl: z.string().optional(), mimetype: z.string().optional() }).passthrough().optional(),
});

const Sign = z.object({ expiresIn: z.number().int().min(1), transform: z.record(z.string(), z.unknown()).optional() });
const SignMany = z.object({ expiresIn: z.number().int().min(1), paths: z.array(z.string()).min(1).max(MAX_BULK_NAMES) });
const DeleteMany = z.object({
    prefixes: z
        .array(z.union([z.string(), z.object({ path: z.string() }).passthrough()]))
        .min(1)
        .max(MAX_BULK_NAMES),
});

const BucketQuery = z.object({
    limit: z.coerce.number().int().min(0).optional(),
    offset: z.coerce.number().int().min(0).optional(),
    sortColumn: z.enum(['id', 'name', 'created_at', 'updated_at']).optional(),
    sortOrder: z.enum(['asc', 'desc']).optional(),
    search: z.string().optional(),
});

function requestContext(request: Request, route: Route): RequestContext {
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
        headers[key.toLowerCase()] = value;
    });
    return { method: request.method, path: new URL(request.url).pathname, headers, operation: OPERATIONS[route.kind] };
}

/** Headers of an object response (download, HEAD, signed and public reads). */
function objectHeaders(object: ObjectRow, size: number): Headers {
    const m = object.metadata;
    const headers = new Headers({
        'content-type': m?.mimetype ?? 'application/octet-stream',
        'content-length': String(size),
        'accept-ranges': 'bytes',
    });
    if (m?.cacheControl) headers.set('cache-control', m.cacheControl);
    if (m?.eTag) headers.set('etag', m.eTag);
    const modified = m?.lastModified ?? object.updated_at;
    if (modified) headers.set('last-modified', new Date(modified).toUTCString());
    return headers;
}

function notModified(request: Request, object: ObjectRow): boolean {
    const etag = object.metadata?.eTag;
    const ifNoneMatch = request.headers.get('if-none-match');
    if (ifNoneMatch && etag) {
        const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
        return tags.includes('*') || tags.includes(etag);
    }
    const since = request.headers.get('if-modified-since');
    const modified = object.metadata?.lastModified ?? object.updated_at;
    if (since && modified) {
        const sinceMs = Date.parse(since);
        return !Number.isNaN(sinceMs) && Math.floor(Date.parse(modified) / 1000) * 1000 <= sinceMs;
    }
    return false;
}

/** Streams an object's bytes (whole or a Range), or 304 when the client's copy is current. */
async function serveObject(ctx: StorageContext, request: Request, object: ObjectRow, head: boolean, extra: Record<string, string> = {}): Promise<Response> {
    const stat = object.version ? await ctx.blobs.stat(object.version) : undefined;
    if (!stat || !object.version) throw errors.noSuchKey();
    const headers = objectHeaders(object, stat.size);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    const disposition = contentDisposition(new URL(request.url).searchParams.get('download'));
    if (disposition) headers.set('content-disposition', disposition);
    if (notModified(request, object)) {
        headers.delete('content-length');
        return new Response(null, { status: 304, headers });
    }
    const range = parseRange(request.headers.get('range'), stat.size);
    if (range) {
        headers.set('content-range', `bytes ${range.start}-${range.end}/${stat.size}`);
        headers.set('content-length', String(range.end - range.start + 1));
    }
    const status = range ? 206 : 200;
    if (head) return new Response(null, { status, headers });
    const stream = ctx.blobs.read(object.version, range);
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
}

async function serveRendered(ctx: StorageContext, request: Request, object: ObjectRow, transformation: ReturnType<typeof parseTransformation>, extra: Record<string, string> = {}): Promise<Response> {
    if (!ctx.settings.imageTransformation) throw errors.imageTransformationDisabled();
    if (!object.version || !(await ctx.blobs.stat(object.version))) throw errors.noSuchKey();
    if ((object.metadata?.size ?? 0) > MAX_TRANSFORM_SOURCE_BYTES) throw errors.entityTooLarge();
    const rendered = await renderImage(ctx.blobs.path(object.version), transformation, request.headers.get('accept'));
    const headers = new Headers({ 'content-type': rendered.contentType, 'content-length': String(rendered.body.length) });
    if (object.metadata?.cacheControl) headers.set('cache-control', object.metadata.cacheControl);
    if (object.metadata?.lastModified) headers.set('last-modified', new Date(object.metadata.lastModified).toUTCString());
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    const disposition = contentDisposition(new URL(request.url).searchParams.get('download'));
    if (disposition) headers.set('content-disposition', disposition);
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(rendered.body), { status: 200, headers });
}

function tokenOf(request: Request): string {
    const token = new URL(request.url).searchParams.get('token');
    if (!token) throw errors.invalidRequest("querystring must have required property 'token'");
    return token;
}

async function route(deps: HandlerDeps, request: Request, route: Route): Promise<Response> {
    const { ctx } = deps;
    const context = requestContext(request, route);
    const as = async (): Promise<Call> => ({ identity: await deps.authenticate(request.headers), request: context });
    const url = new URL(request.url);

    switch (route.kind) {
        case 'tus':
            return deps.resumable(request, { remoteAddr: '' });

        // ── buckets ──
        case 'bucket.create': {
            const call = await as();
            const body = await readJson(request, CreateBucket);
            return json(
                await buckets.createBucket(ctx, call, {
                    id: body.id ?? body.name,
                    name: body.name,
                    public: body.public,
                    fileSizeLimit: parseApiFileSize(body.file_size_limit),
                    allowedMimeTypes: body.allowed_mime_types,
                    type: body.type,
                }),
            );
        }
        case 'bucket.list': {
            const call = await as();
            const query = BucketQuery.safeParse(Object.fromEntries(url.searchParams));
            if (!query.success) throw errors.invalidRequest(`querystring/${query.error.issues[0]!.path.join('/')} ${query.error.issues[0]!.message}`);
            return json(await buckets.listBuckets(ctx, call, query.data));
        }
        case 'bucket.get':
            return json(await buckets.getBucket(ctx, await as(), route.bucketId));
        case 'bucket.update': {
            const call = await as();
            const body = await readJson(request, UpdateBucket);
            await buckets.updateBucket(ctx, call, route.bucketId, {
                public: body.public,
                fileSizeLimit: parseApiFileSize(body.file_size_limit),
                allowedMimeTypes: body.allowed_mime_types,
            });
            return json({ message: 'Successfully updated' });
        }
        case 'bucket.empty':
            await buckets.emptyBucket(ctx, await as(), route.bucketId);
            return json({ message: 'Empty bucket has been queued. Completion may take up to an hour.' });
        case 'bucket.delete':
            await buckets.deleteBucket(ctx, await as(), route.bucketId);
            return json({ message: 'Successfully deleted' });

        // ── objects ──
        case 'object.upload': {
            const call = await as();
            const upsert = route.method === 'PUT' || request.headers.get('x-upsert') === 'true';
            const row = await objects.upload(ctx, call, { bucketId: route.bucketId, name: route.name, upsert, owner: call.identity }, (limit) => parseUploadBody(request, limit));
            return json({ Id: row.id, Key: `${route.bucketId}/${route.name}` });
        }
        case 'object.upload_signed': {
            const claims = await ctx.signer.verifyUpload(tokenOf(request), `${route.bucketId}/${route.name}`);
            const owner: Identity = { ...ANON, sub: claims.owner };
            const call: Call = { identity: owner, request: context };
            const bucket = await objects.bucketOrFail(ctx, call, route.bucketId);
            const { limit, allowedMimeTypes } = objects.uploadRules(ctx, bucket);
            const content = await parseUploadBody(request, limit);
            mustBeAllowedMimeType(content.mimeType, allowedMimeTypes);
            await objects.storeObject(ctx, call, { bucketId: route.bucketId, name: route.name, upsert: claims.upsert, owner }, content, limit);
            return json({ Key: `${route.bucketId}/${route.name}` });
        }
        case 'object.get': {
            const identity = route.access === 'public' ? undefined : route.access === 'authenticated' ? await deps.authenticate(request.headers) : await deps.authenticateOptional(request.headers);
            const call: Call = { identity: identity ?? ANON, request: context };
            const access = identity ? 'caller' : 'public';
            const { object } = await objects.readableObject(ctx, call, route.bucketId, route.name, access);
            return serveObject(ctx, request, object, route.head);
        }
        case 'object.info': {
            const identity = route.access === 'public' ? ANON : await deps.authenticate(request.headers);
            const { object } = await objects.readableObject(ctx, { identity, request: context }, route.bucketId, route.name, route.access === 'public' ? 'public' : 'caller');
            return route.head ? new Response(null, { status: 200, headers: objectHeaders(object, object.metadata?.size ?? 0) }) : json(objects.infoOf(object));
        }
        case 'object.get_signed': {
            const claims = await ctx.signer.verifyDownload(tokenOf(request), `${route.bucketId}/${route.name}`);
            const call: Call = { identity: ANON, request: context };
            const { object } = await objects.readableObject(ctx, call, route.bucketId, route.name, 'signed');
            const expires = { expires: new Date(claims.exp * 1000).toUTCString() };
            if (claims.transformations) return serveRendered(ctx, request, object, decodeTransformation(claims.transformations), expires);
            return serveObject(ctx, request, object, route.head, expires);
        }
        case 'render.image': {
            if (route.access === 'signed') {
                const claims = await ctx.signer.verifyDownload(tokenOf(request), `${route.bucketId}/${route.name}`);
                const { object } = await objects.readableObject(ctx, { identity: ANON, request: context }, route.bucketId, route.name, 'signed');
                const transformation = claims.transformations ? decodeTransformation(claims.transformations) : parseTransformation(() => undefined);
                return serveRendered(ctx, request, object, transformation, { expires: new Date(claims.exp * 1000).toUTCString() });
            }
            const transformation = parseTransformation((name) => url.searchParams.get(name));
            const identity = route.access === 'public' ? ANON : await deps.authenticate(request.headers);
            const { object } = await objects.readableObject(ctx, { identity, request: context }, route.bucketId, route.name, route.access === 'public' ? 'public' : 'caller');
            return serveRendered(ctx, request, object, transformation);
        }
        case 'object.list': {
            const call = await as();
            const body = await readJson(request, ListV1);
            return json(await objects.list(ctx, call, route.bucketId, body));
        }
        case 'object.list_v2': {
            const call = await as();
            const body = await readJson(request, ListV2);
            return json(await objects.listV2(ctx, call, route.bucketId, { prefix: body.prefix, limit: body.limit, cursor: body.cursor, withDelimiter: body.with_delimiter, sortBy: body.sortBy }));
        }
        case 'object.move': {
            const call = await as();
            const body = await readJson(request, Relocate);
            await objects.move(ctx, call, { bucketId: body.bucketId, sourceKey: body.sourceKey, destinationKey: body.destinationKey, destinationBucket: body.destinationBucket ?? body.bucketId });
            return json({ message: 'Successfully moved' });
        }
        case 'object.copy': {
            const call = await as();
            const body = await readJson(request, Relocate);
            const destinationBucket = body.destinationBucket ?? body.bucketId;
            const row = await objects.copy(
                ctx,
                call,
                { bucketId: body.bucketId, sourceKey: body.sourceKey, destinationKey: body.destinationKey, destinationBucket },
                { upsert: request.headers.get('x-upsert') === 'true', copyMetadata: body.copyMetadata ?? true, metadata: body.copyMetadata === false ? body.metadata : undefined },
            );
            return json({ Id: row.id, Key: `${destinationBucket}/${body.destinationKey}`, ...row });
        }
        case 'object.delete':
            await objects.removeOne(ctx, await as(), route.bucketId, route.name);
            return json({ message: 'Successfully deleted' });
        case 'object.delete_many': {
            const call = await as();
            const body = await readJson(request, DeleteMany);
            const names = body.prefixes.map((p) => (typeof p === 'string' ? p : p.path));
            return json(await objects.removeMany(ctx, call, route.bucketId, names));
        }
        case 'object.sign': {
            const call = await as();
            const body = await readJson(request, Sign);
            const transform = body.transform && Object.keys(body.transform).length ? encodeTransformation(transformationFromBody(body.transform)) : undefined;
            return json({ signedURL: await objects.signDownload(ctx, call, route.bucketId, route.name, body.expiresIn, transform) });
        }
        case 'object.sign_many': {
            const call = await as();
            const body = await readJson(request, SignMany);
            return json(await objects.signDownloads(ctx, call, route.bucketId, body.paths, body.expiresIn));
        }
        case 'object.sign_upload': {
            const call = await as();
            return json(await objects.signUpload(ctx, call, route.bucketId, route.name, request.headers.get('x-upsert') === 'true'));
        }
    }
}

export function createHandler(deps: HandlerDeps): FetchHandler {
    return async (request) => {
        const url = new URL(request.url);
        try {
            if (request.method === 'OPTIONS' && !url.pathname.startsWith('/upload/resumable')) return new Response(null, { status: 204 });
            const matched = matchRoute(request.method, url.pathname);
            if (!matched) throw errors.notFoundRoute(request.method, `${url.pathname}${url.search}`);
            return await route(deps, request, matched);
        } catch (error) {
            if (error instanceof StorageError) return errorResponse(error);
            deps.ctx.log({ level: 'error', msg: 'storage: unexpected error', method: request.method, path: url.pathname, error: String((error as Error)?.stack ?? error) });
            return errorResponse(errors.internal());
        }
    };
}
