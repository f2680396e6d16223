// The two upload bodies supabase-js sends: multipart/form-data (a Blob or FormData: a file
// part plus `cacheControl` seconds and `metadata` JSON fields) or the raw bytes with
// `content-type`, `cache-control` (verbatim) and `x-metadata` (base64 JSON) headers.
import { Readable } from 'node:stream';
import { errors } from './errors.js';

export interface UploadBody {
    bytes: Readable | ReadableStream<Uint8Array>;
    mimeType: string;
    cacheControl: string;
    userMetadata: Record<string, unknown> | null;
}

/** Multipart framing allowed on top of the file itself before the body counts as too large. */
const MULTIPART_OVERHEAD = 1024 * 1024;

function parseMetadataJson(text: string): Record<string, unknown> {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw errors.invalidRequest('metadata must be a JSON object');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidRequest('metadata must be a JSON object');
    return value as Record<string, unknown>;
}

/** Caps a body stream at `max` bytes: past it the stream fails with EntityTooLarge. */
function capped(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
    let seen = 0;
    return body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
                seen += chunk.byteLength;
                if (seen > max) controller.error(errors.entityTooLarge());
                else controller.enqueue(chunk);
            },
        }),
    );
}

export async function parseUploadBody(request: Request, limit: number): Promise<UploadBody> {
    const contentType = request.headers.get('content-type') ?? '';
    const declared = Number(request.headers.get('content-length') ?? NaN);
    if (/^multipart\/form-data/i.test(contentType)) {
        if (declared > limit + MULTIPART_OVERHEAD) throw errors.entityTooLarge();
        let form: FormData;
        try {
            const body = request.body ? capped(request.body, limit + MULTIPART_OVERHEAD) : null;
            form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
        } catch (error) {
            if (error instanceof Error && 'code' in error && (error as { code: unknown }).code === 'EntityTooLarge') throw error;
            const cause = (error as { cause?: unknown })?.cause;
            if (cause && typeof cause === 'object' && (cause as { code?: unknown }).code === 'EntityTooLarge') throw errors.entityTooLarge();
            throw errors.invalidRequest('the multipart body could not be read');
        }
        let file: File | undefined;
        for (const [, value] of form.entries()) {
            if (typeof value !== 'string') {
                file = value;
                break;
            }
        }
        if (!file) throw errors.invalidRequest('No file found in request');
        const seconds = form.get('cacheControl');
        const metadata = form.get('metadata');
        return {
            bytes: file.stream() as ReadableStream<Uint8Array>,
            mimeType: file.type || 'application/octet-stream',
            cacheControl: typeof seconds === 'string' && seconds ? `max-age=${seconds}` : 'no-cache',
            userMetadata: typeof metadata === 'string' && metadata ? parseMetadataJson(metadata) : null,
        };
    }
    if (declared > limit) throw errors.entityTooLarge();
    const header = request.headers.get('x-metadata');
    let userMetadata: Record<string, unknown> | null = null;
    if (header) {
        const decoded = Buffer.from(header, 'base64').toString('utf8');
        userMetadata = parseMetadataJson(decoded);
    }
    return {
        bytes: request.body ?? Readable.from([]),
        mimeType: contentType || 'application/octet-stream',
        cacheControl: request.headers.get('cache-control') ?? 'no-cache',
        userMetadata,
    };
}
