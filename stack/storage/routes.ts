// Storage's routes as plain data: (method, path) → the operation and its parameters, with
// the object key decoded. No I/O here (unit-testable); handler.ts runs what this names.
import { errors } from './errors.js';

export type Route =
    | { kind: 'bucket.create' }
    | { kind: 'bucket.list' }
    | { kind: 'bucket.get'; bucketId: string }
    | { kind: 'bucket.update'; bucketId: string }
    | { kind: 'bucket.empty'; bucketId: string }
    | { kind: 'bucket.delete'; bucketId: string }
    | { kind: 'object.upload'; bucketId: string; name: string; method: 'POST' | 'PUT' }
    | { kind: 'object.get'; bucketId: string; name: string; access: 'authenticated' | 'public' | 'any'; head: boolean }
    | { kind: 'object.info'; bucketId: string; name: string; access: 'authenticated' | 'public'; head: boolean }
    | { kind: 'object.list'; bucketId: string }
    | { kind: 'object.list_v2'; bucketId: string }
    | { kind: 'object.move' }
    | { kind: 'object.copy' }
    | { kind: 'object.delete'; bucketId: string; name: string }
    | { kind: 'object.delete_many'; bucketId: string }
    | { kind: 'object.sign'; bucketId: string; name: string }
    | { kind: 'object.sign_many'; bucketId: string }
    | { kind: 'object.get_signed'; bucketId: string; name: string; head: boolean }
    | { kind: 'object.sign_upload'; bucketId: string; name: string }
    | { kind: 'object.upload_signed'; bucketId: string; name: string }
    | { kind: 'render.image'; bucketId: string; name: string; access: 'authenticated' | 'public' | 'signed' }
    | { kind: 'tus' };

/** Storage's operation names (what `storage.operation()` returns inside policies). */
export const OPERATIONS: Record<Route['kind'], string> = {
    'bucket.create': 'storage.bucket.create',
    'bucket.list': 'storage.bucket.list',
    'bucket.get': 'storage.bucket.get',
    'bucket.update': 'storage.bucket.update',
    'bucket.empty': 'storage.bucket.empty',
    'bucket.delete': 'storage.bucket.delete',
    'object.upload': 'storage.object.upload',
    'object.get': 'storage.object.get_authenticated',
    'object.info': 'storage.object.info_authenticated',
    'object.list': 'storage.object.list',
    'object.list_v2': 'storage.object.list_v2',
    'object.move': 'storage.object.move',
    'object.copy': 'storage.object.copy',
    'object.delete': 'storage.object.delete',
    'object.delete_many': 'storage.object.delete_many',
    'object.sign': 'storage.object.sign',
    'object.sign_many': 'storage.object.sign_many',
    'object.get_signed': 'storage.object.get_signed',
    'object.sign_upload': 'storage.object.sign_upload_url',
    'object.upload_signed': 'storage.object.upload_signed',
    'render.image': 'storage.render.image_authenticated',
    tus: 'storage.tus.upload',
};

/** Splits "bucket/some/key" into the bucket and the decoded key. */
function bucketAndKey(rest: string): { bucketId: string; name: string } | undefined {
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) return undefined;
    let bucketId: string;
    let name: string;
    try {
        bucketId = decodeURIComponent(rest.slice(0, slash));
        name = decodeURIComponent(rest.slice(slash + 1));
    } catch {
        throw errors.invalidKey(rest.slice(slash + 1));
    }
    return { bucketId, name };
}

function bucketOnly(rest: string): string | undefined {
    if (!rest || rest.includes('/')) return undefined;
    try {
        return decodeURIComponent(rest);
    } catch {
        throw errors.invalidBucketName();
    }
}

/** The route of a request, or undefined (404 Route … not found). */
export function matchRoute(method: string, pathname: string): Route | undefined {
    const path = pathname.replace(/\/+$/, '') || '/';
    const head = method === 'HEAD';
    const read = method === 'GET' || head;
    const after = (prefix: string) => (path.startsWith(prefix) ? path.slice(prefix.length) : undefined);

    if (path === '/upload/resumable' || path.startsWith('/upload/resumable/')) return { kind: 'tus' };

    if (path === '/bucket') {
        if (method === 'POST') return { kind: 'bucket.create' };
        if (method === 'GET') return { kind: 'bucket.list' };
        return undefined;
    }
    const bucketRest = after('/bucket/');
    if (bucketRest !== undefined) {
        const empty = /^([^/]+)\/empty$/.exec(bucketRest);
        if (empty && method === 'POST') return { kind: 'bucket.empty', bucketId: bucketOnly(empty[1]!)! };
        const bucketId = bucketOnly(bucketRest);
        if (bucketId === undefined) return undefined;
        if (method === 'GET') return { kind: 'bucket.get', bucketId };
        if (method === 'PUT') return { kind: 'bucket.update', bucketId };
        if (method === 'DELETE') return { kind: 'bucket.delete', bucketId };
        return undefined;
    }

    const render = after('/render/image/');
    if (render !== undefined) {
        if (!read) return undefined;
        for (const access of ['authenticated', 'public', 'sign'] as const) {
            const rest = render.startsWith(`${access}/`) ? render.slice(access.length + 1) : undefined;
            const target = rest !== undefined ? bucketAndKey(rest) : undefined;
            if (target) return { kind: 'render.image', ...target, access: access === 'sign' ? 'signed' : access };
        }
        return undefined;
    }

    const object = after('/object/');
    if (object === undefined) return undefined;

    if (method === 'POST' && object === 'move') return { kind: 'object.move' };
    if (method === 'POST' && object === 'copy') return { kind: 'object.copy' };
    if (method === 'POST' && object.startsWith('list/')) {
        const bucketId = bucketOnly(object.slice('list/'.length));
        return bucketId === undefined ? undefined : { kind: 'object.list', bucketId };
    }
    if (method === 'POST' && object.startsWith('list-v2/')) {
        const bucketId = bucketOnly(object.slice('list-v2/'.length));
        return bucketId === undefined ? undefined : { kind: 'object.list_v2', bucketId };
    }
    if (object.startsWith('upload/sign/')) {
        const target = bucketAndKey(object.slice('upload/sign/'.length));
        if (!target) return undefined;
        if (method === 'POST') return { kind: 'object.sign_upload', ...target };
        if (method === 'PUT') return { kind: 'object.upload_signed', ...target };
        return undefined;
    }
    if (object.startsWith('sign/')) {
        const rest = object.slice('sign/'.length);
        const target = bucketAndKey(rest);
        if (method === 'POST') {
            if (target) return { kind: 'object.sign', ...target };
            const bucketId = bucketOnly(rest);
            return bucketId === undefined ? undefined : { kind: 'object.sign_many', bucketId };
        }
        if (read && target) return { kind: 'object.get_signed', ...target, head };
        return undefined;
    }
    if (object.startsWith('info/')) {
        if (!read) return undefined;
        const rest = object.slice('info/'.length);
        for (const access of ['authenticated', 'public'] as const) {
            if (rest.startsWith(`${access}/`)) {
                const target = bucketAndKey(rest.slice(access.length + 1));
                return target ? { kind: 'object.info', ...target, access, head } : undefined;
            }
        }
        const target = bucketAndKey(rest);
        return target ? { kind: 'object.info', ...target, access: 'authenticated', head } : undefined;
    }
    if (read) {
        for (const access of ['authenticated', 'public'] as const) {
            if (object.startsWith(`${access}/`)) {
                const target = bucketAndKey(object.slice(access.length + 1));
                return target ? { kind: 'object.get', ...target, access, head } : undefined;
            }
        }
        const target = bucketAndKey(object);
        return target ? { kind: 'object.get', ...target, access: 'any', head } : undefined;
    }
    if (method === 'DELETE') {
        const target = bucketAndKey(object);
        if (target) return { kind: 'object.delete', ...target };
        const bucketId = bucketOnly(object);
        return bucketId === undefined ? undefined : { kind: 'object.delete_many', bucketId };
    }
    if (method === 'POST' || method === 'PUT') {
        const target = bucketAndKey(object);
        return target ? { kind: 'object.upload', ...target, method } : undefined;
    }
    return undefined;
}

export interface ByteRange {
    start: number;
    end: number;
}

/**
 * The byte range of a `Range` header for a file of `size` bytes: undefined for none (or a
 * header that is not a single bytes range: the whole file is served), InvalidRange (416)
 * when it cannot be satisfied.
 */
export function parseRange(header: string | null, size: number): ByteRange | undefined {
    if (!header) return undefined;
    const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (!match || (match[1] === '' && match[2] === '')) return undefined;
    let start: number;
    let end: number;
    if (match[1] === '') {
        const suffix = Number(match[2]);
        if (suffix === 0) throw errors.invalidRange();
        start = Math.max(size - suffix, 0);
        end = size - 1;
    } else {
        start = Number(match[1]);
        end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    }
    if (start >= size || start > end) throw errors.invalidRange();
    return { start, end };
}

/** `?download` → attachment without a name; `?download=name` → with it; absent → inline. */
export function contentDisposition(download: string | null): string | undefined {
    if (download === null) return undefined;
    if (download === '') return 'attachment;';
    const encoded = encodeURIComponent(download);
    return `attachment; filename=${encoded}; filename*=UTF-8''${encoded};`;
}
