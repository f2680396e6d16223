// Image transformations (Supabase's render/image routes, imgproxy there, sharp here):
// width and height in pixels (clamped to 1–2000), `resize` cover (crop to fill the box, the default)
// | contain (fit inside it) | fill (stretch to it), `quality` 20–100 (default 80), `format`
// origin | webp | avif — absent, WebP when the client accepts it, else the original format.
// Images are never enlarged, as imgproxy does without `enlarge`.
import sharp from 'sharp';
import { errors } from './errors.js';

export type ResizeMode = 'cover' | 'contain' | 'fill';
export type OutputFormat = 'origin' | 'webp' | 'avif';

export interface Transformation {
    width?: number;
    height?: number;
    resize: ResizeMode;
    quality?: number;
    format?: OutputFormat;
}

const MAX_DIMENSION = 2000;
/** Largest source Storage transforms (25 MB). */
export const MAX_TRANSFORM_SOURCE_BYTES = 25 * 1000 * 1000;

function dimension(name: string, raw: string | null | undefined): number | undefined {
    if (raw === null || raw === undefined || raw === '') return undefined;
    if (!/^\d+$/.test(raw)) throw errors.invalidRequest(`querystring/${name} must be integer`);
    const value = Number(raw);
    if (value === 0) return undefined;
    return Math.min(Math.max(value, 1), MAX_DIMENSION);
}

/** Reads the transformation parameters of a query string (or of a signed token's `transformations`). */
export function parseTransformation(get: (name: string) => string | null | undefined): Transformation {
    const resize = get('resize') ?? 'cover';
    if (!['cover', 'contain', 'fill'].includes(resize)) throw errors.invalidRequest('querystring/resize must be equal to one of the allowed values');
    const format = get('format') ?? undefined;
    if (format !== undefined && !['origin', 'webp', 'avif'].includes(format)) throw errors.invalidRequest('querystring/format must be equal to one of the allowed values');
    const qualityRaw = get('quality');
    let quality: number | undefined;
    if (qualityRaw !== null && qualityRaw !== undefined && qualityRaw !== '') {
        if (!/^\d+$/.test(qualityRaw)) throw errors.invalidRequest('querystring/quality must be integer');
        quality = Math.min(Math.max(Number(qualityRaw), 20), 100);
    }
    return { width: dimension('width', get('width')), height: dimension('height', get('height')), resize: resize as ResizeMode, quality, format: format as OutputFormat | undefined };
}

/** The `transformations` claim of a signed render URL: "width:200,height:100,resize:cover". */
export function encodeTransformation(t: Partial<Transformation>): string {
    return (['width', 'height', 'resize', 'quality', 'format'] as const)
        .filter((k) => t[k] !== undefined && t[k] !== null)
        .map((k) => `${k}:${String(t[k])}`)
        .join(',');
}

export function decodeTransformation(claim: string): Transformation {
    const entries = new Map(claim.split(',').filter(Boolean).map((part) => part.split(':', 2) as [string, string]));
    return parseTransformation((name) => entries.get(name));
}

/** Transformation options of a sign request body ({width, height, resize, quality, format}). */
export function transformationFromBody(body: Record<string, unknown>): Transformation {
    return parseTransformation((name) => (body[name] === undefined || body[name] === null ? undefined : String(body[name])));
}

export interface RenderedImage {
    body: Buffer;
    contentType: string;
}

const FIT: Record<ResizeMode, 'cover' | 'inside' | 'fill'> = { cover: 'cover', contain: 'inside', fill: 'fill' };

export async function renderImage(file: string, t: Transformation, accept: string | null): Promise<RenderedImage> {
    let image: ReturnType<typeof sharp>;
    let sourceFormat: string | undefined;
    try {
        image = sharp(file, { failOn: 'none' });
        sourceFormat = (await image.metadata()).format;
    } catch {
        throw errors.notAnImage();
    }
    image = image.rotate();
    if (t.width || t.height) image = image.resize({ width: t.width, height: t.height, fit: FIT[t.resize], withoutEnlargement: true });
    const format = t.format ?? (accept?.includes('image/webp') ? 'webp' : 'origin');
    const quality = t.quality ?? 80;
    let output: string;
    if (format === 'webp') output = 'webp';
    else if (format === 'avif') output = 'avif';
    else output = sourceFormat === 'heif' ? 'avif' : (sourceFormat ?? 'jpeg');
    switch (output) {
        case 'webp':
            image = image.webp({ quality });
            break;
        case 'avif':
            image = image.avif({ quality });
            break;
        case 'jpeg':
            image = image.jpeg({ quality });
            break;
        case 'png':
            image = image.png({ quality });
            break;
        case 'gif':
            image = image.gif();
            break;
        default:
            // Formats sharp reads but browsers do not show (tiff, svg…) come out as PNG.
            output = 'png';
            image = image.png();
    }
    try {
        return { body: await image.toBuffer(), contentType: `image/${output}` };
    } catch {
        throw errors.notAnImage();
    }
}
