// Size and MIME limits (per bucket and global) answer Supabase's error codes and store
// nothing; image transformations produce the requested size and format on authenticated,
// public and signed routes.
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { useStorageService } from '../../harness/storage.js';

const GLOBAL_LIMIT = 64 * 1024;
const storage = useStorageService({ settings: { fileSizeLimit: GLOBAL_LIMIT } });

let jpeg: Buffer;

beforeAll(async () => {
    const admin = storage.serviceRole().storage;
    await admin.createBucket('small', { public: false, fileSizeLimit: 1024, allowedMimeTypes: ['image/png', 'text/*'] });
    await admin.createBucket('images', { public: true });
    jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg().toBuffer();
    await admin.from('images').upload('photo.jpg', jpeg, { contentType: 'image/jpeg' });
});

const countRows = async (bucket: string) => Number((await storage.db.query<{ n: string }>(`select count(*) as n from storage.objects where bucket_id = $1`, [bucket]))[0]!.n);

describe('limits', () => {
    it('over the bucket limit: 413 EntityTooLarge (HTTP 400), nothing stored', async () => {
        const files = storage.filesOnDisk().length;
        const result = await storage.serviceRole().storage.from('small').upload('big.png', new Blob([new Uint8Array(2048)], { type: 'image/png' }));
        expect(result.error).toMatchObject({ status: 400, statusCode: '413', message: 'The object exceeded the maximum allowed size' });
        expect((result.error as unknown as { code: string }).code).toBe('EntityTooLarge');
        expect(await countRows('small')).toBe(0);
        expect(storage.filesOnDisk().length).toBe(files);
    });

    it('a raw stream without content-length is cut at the limit too', async () => {
        const body = new ReadableStream<Uint8Array>({
            start(controller) {
                for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(512));
                controller.close();
            },
        });
        const response = await fetch(`${storage.storageUrl}/object/small/stream.png`, {
            method: 'POST',
            headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, 'content-type': 'image/png' },
            body,
            duplex: 'half',
        } as RequestInit);
        expect(await response.json()).toMatchObject({ statusCode: '413', code: 'EntityTooLarge' });
        expect(await countRows('small')).toBe(0);
    });

    it('over the global limit in a bucket without its own: 413', async () => {
        const result = await storage.serviceRole().storage.from('images').upload('huge.bin', new Blob([new Uint8Array(GLOBAL_LIMIT + 1)]));
        expect(result.error).toMatchObject({ statusCode: '413' });
    });

    it('a MIME type the bucket does not allow: 415 InvalidMimeType', async () => {
        const result = await storage.serviceRole().storage.from('small').upload('x.jpg', new Blob([new Uint8Array(10)], { type: 'image/jpeg' }));
        expect(result.error).toMatchObject({ status: 400, statusCode: '415', message: 'mime type image/jpeg is not supported' });
        expect((result.error as unknown as { code: string }).code).toBe('InvalidMimeType');
    });

    it('type/* allows the whole type; parameters are compared exactly', async () => {
        const ok = await storage.serviceRole().storage.from('small').upload('a.csv', new Blob(['a,b'], { type: 'text/csv' }));
        expect(ok.error).toBeNull();
        const textWithCharset = await storage.serviceRole().storage.from('small').upload('b.txt', 'plain');
        expect(textWithCharset.error).toBeNull();
        const pngWithParameter = await storage.serviceRole().storage.from('small').upload('c.png', Buffer.from([1]), { contentType: 'image/png;x=1' });
        expect(pngWithParameter.error).toMatchObject({ statusCode: '415', message: 'mime type image/png;x=1 is not supported' });
    });
});

describe('image transformations', () => {
    it('download with transform resizes (cover crops to the exact box) and keeps the format', async () => {
        const { data, error } = await storage.serviceRole().storage.from('images').download('photo.jpg', { transform: { width: 200, height: 200 } });
        expect(error).toBeNull();
        const meta = await sharp(Buffer.from(await data!.arrayBuffer())).metadata();
        expect([meta.width, meta.height, meta.format]).toEqual([200, 200, 'jpeg']);
    });

    it('contain fits inside the box, fill stretches to it', async () => {
        const bucket = storage.serviceRole().storage.from('images');
        const contain = await bucket.download('photo.jpg', { transform: { width: 200, height: 200, resize: 'contain' } });
        const c = await sharp(Buffer.from(await contain.data!.arrayBuffer())).metadata();
        expect([c.width, c.height]).toEqual([200, 150]);
        const fill = await bucket.download('photo.jpg', { transform: { width: 100, height: 300, resize: 'fill' } });
        const f = await sharp(Buffer.from(await fill.data!.arrayBuffer())).metadata();
        expect([f.width, f.height]).toEqual([100, 300]);
    });

    it('public render URLs convert to the requested format and honour quality', async () => {
        const bucket = storage.anon().storage.from('images');
        const webp = await fetch(`${bucket.getPublicUrl('photo.jpg', { transform: { width: 100 } }).data.publicUrl}&format=webp`);
        expect(webp.headers.get('content-type')).toBe('image/webp');
        const m = await sharp(Buffer.from(await webp.arrayBuffer())).metadata();
        expect([m.format, m.width, m.height]).toEqual(['webp', 100, 75]);
        const avif = await fetch(`${storage.storageUrl}/render/image/public/images/photo.jpg?width=64&format=avif`);
        expect(avif.headers.get('content-type')).toBe('image/avif');
        expect((await sharp(Buffer.from(await avif.arrayBuffer())).metadata()).width).toBe(64);
        const low = await fetch(`${storage.storageUrl}/render/image/public/images/photo.jpg?width=400&quality=20`);
        const high = await fetch(`${storage.storageUrl}/render/image/public/images/photo.jpg?width=400&quality=100`);
        expect((await low.arrayBuffer()).byteLength).toBeLessThan((await high.arrayBuffer()).byteLength);
    });

    it('without format, a client accepting WebP gets WebP', async () => {
        const response = await fetch(`${storage.storageUrl}/render/image/public/images/photo.jpg?width=50`, { headers: { accept: 'image/webp,*/*' } });
        expect(response.headers.get('content-type')).toBe('image/webp');
    });

    it('a signed URL with a transform renders what was signed', async () => {
        const signed = await storage.serviceRole().storage.from('images').createSignedUrl('photo.jpg', 60, { transform: { width: 120, height: 90, resize: 'fill' } });
        expect(signed.data!.signedUrl).toContain('/render/image/sign/images/photo.jpg?token=');
        const response = await fetch(signed.data!.signedUrl);
        const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
        expect([meta.width, meta.height]).toEqual([120, 90]);
    });

    it('a file that is not an image cannot be transformed', async () => {
        const admin = storage.serviceRole().storage.from('images');
        await admin.upload(`${randomUUID()}.txt`, new Blob(['not an image'], { type: 'text/plain' }));
        const { data } = await admin.list('', { search: '' });
        const name = data!.find((e) => e.name.endsWith('.txt'))!.name;
        const response = await fetch(`${storage.storageUrl}/render/image/public/images/${name}?width=10`);
        expect(await response.json()).toMatchObject({ statusCode: '415' });
    });
});
