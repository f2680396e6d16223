// The pure parts of /storage/v1, without a database: routes, names, sizes, MIME checks,
// Range parsing, transformation parameters and the signed-URL tokens (with a clock).
import { describe, expect, it } from 'vitest';
import { isValidKey, mustBeAllowedMimeType, mustBeValidBucketName, parseApiFileSize, parseConfigSize, uploadLimit } from '../../../stack/storage/limits.js';
import { contentDisposition, matchRoute, parseRange } from '../../../stack/storage/routes.js';
import { storageSettings } from '../../../stack/storage/settings.js';
import { createUrlSigner } from '../../../stack/storage/signing.js';
import type { ProjectConfig } from '../../../stack/config.js';
import { decodeTransformation, encodeTransformation, parseTransformation } from '../../../stack/storage/transform.js';

describe('routes', () => {
    it('maps supabase-js paths to operations, with decoded keys', () => {
        expect(matchRoute('POST', '/object/docs/a%20b/c.txt')).toEqual({ kind: 'object.upload', bucketId: 'docs', name: 'a b/c.txt', method: 'POST' });
        expect(matchRoute('GET', '/object/public/site/x.png')).toEqual({ kind: 'object.get', bucketId: 'site', name: 'x.png', access: 'public', head: false });
        expect(matchRoute('HEAD', '/object/authenticated/site/x.png')).toMatchObject({ kind: 'object.get', access: 'authenticated', head: true });
        expect(matchRoute('GET', '/object/info/site/x.png')).toMatchObject({ kind: 'object.info', access: 'authenticated' });
        expect(matchRoute('POST', '/object/sign/site/x.png')).toMatchObject({ kind: 'object.sign', name: 'x.png' });
        expect(matchRoute('POST', '/object/sign/site')).toEqual({ kind: 'object.sign_many', bucketId: 'site' });
        expect(matchRoute('PUT', '/object/upload/sign/site/x.png')).toMatchObject({ kind: 'object.upload_signed' });
        expect(matchRoute('DELETE', '/object/site')).toEqual({ kind: 'object.delete_many', bucketId: 'site' });
        expect(matchRoute('POST', '/bucket/site/empty')).toEqual({ kind: 'bucket.empty', bucketId: 'site' });
        expect(matchRoute('GET', '/render/image/sign/site/x.png')).toMatchObject({ kind: 'render.image', access: 'signed' });
        expect(matchRoute('PATCH', '/upload/resumable/abc')).toEqual({ kind: 'tus' });
        expect(matchRoute('GET', '/nothing')).toBeUndefined();
        expect(matchRoute('PATCH', '/object/site/x')).toBeUndefined();
    });

    it('Range: single ranges, suffixes, open ends; unsatisfiable is 416', () => {
        expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
        expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
        expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
        expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
        expect(parseRange('items=0-1', 100)).toBeUndefined();
        expect(() => parseRange('bytes=100-', 100)).toThrow(expect.objectContaining({ statusCode: 416 }));
    });

    it('download names become an attachment disposition', () => {
        expect(contentDisposition(null)).toBeUndefined();
        expect(contentDisposition('')).toBe('attachment;');
        expect(contentDisposition('a b.pdf')).toBe("attachment; filename=a%20b.pdf; filename*=UTF-8''a%20b.pdf;");
    });
});

describe('limits', () => {
    it('keys and bucket names use Storage\'s character set', () => {
        expect(isValidKey("folder/My file (1)!.png")).toBe(true);
        expect(isValidKey('caf\u00e9.png')).toBe(false);
        expect(isValidKey('')).toBe(false);
        expect(() => mustBeValidBucketName('a/b')).toThrow(expect.objectContaining({ code: 'InvalidBucketName' }));
        expect(() => mustBeValidBucketName('x'.repeat(101))).toThrow();
    });

    it('API sizes are decimal, config sizes binary (as the CLI reads them)', () => {
        expect(parseApiFileSize('5MB')).toBe(5_000_000);
        expect(parseApiFileSize('1 KB')).toBe(1000);
        expect(parseApiFileSize(42)).toBe(42);
        expect(parseApiFileSize(null)).toBeNull();
        expect(() => parseApiFileSize('5 parsecs')).toThrow(expect.objectContaining({ statusCode: 400 }));
        expect(parseConfigSize('50MiB')).toBe(50 * 1024 * 1024);
        expect(parseConfigSize('5MB')).toBe(5 * 1024 * 1024);
        expect(parseConfigSize('500kb')).toBe(500 * 1024);
        expect(parseConfigSize('lots')).toBeUndefined();
        expect(uploadLimit(1000, 500)).toBe(500);
        expect(uploadLimit(1000, null)).toBe(1000);
    });

    it('MIME types: exact, type/*, * — parameters included', () => {
        expect(() => mustBeAllowedMimeType('image/png', ['image/png'])).not.toThrow();
        expect(() => mustBeAllowedMimeType('image/webp', ['image/*'])).not.toThrow();
        expect(() => mustBeAllowedMimeType('text/csv', ['*'])).not.toThrow();
        expect(() => mustBeAllowedMimeType('image/png;x=1', ['image/png'])).toThrow(expect.objectContaining({ code: 'InvalidMimeType' }));
        expect(() => mustBeAllowedMimeType('garbage', ['image/png'])).toThrow(expect.objectContaining({ statusCode: 415 }));
        expect(() => mustBeAllowedMimeType('anything/at-all', null)).not.toThrow();
    });
});

describe('transformations', () => {
    it('clamps dimensions and quality, validates modes and formats, and round-trips through a token claim', () => {
        const t = parseTransformation((n) => ({ width: '5000', height: '0', resize: 'contain', quality: '5', format: 'webp' })[n]);
        expect(t).toEqual({ width: 2000, height: undefined, resize: 'contain', quality: 20, format: 'webp' });
        expect(decodeTransformation(encodeTransformation(t))).toEqual(t);
        expect(() => parseTransformation((n) => (n === 'resize' ? 'squash' : undefined))).toThrow(expect.objectContaining({ statusCode: 400 }));
        expect(() => parseTransformation((n) => (n === 'width' ? '12px' : undefined))).toThrow();
    });
});

describe('signed URL tokens', () => {
    it('verify for their own path until they expire, on the injected clock', async () => {
        let now = new Date('2030-01-01T00:00:00Z');
        const signer = createUrlSigner('a-secret-of-at-least-thirty-two-characters!', () => now);
        const token = await signer.signDownload({ url: 'b/x.png' }, 60);
        await expect(signer.verifyDownload(token, 'b/x.png')).resolves.toMatchObject({ url: 'b/x.png' });
        await expect(signer.verifyDownload(token, 'b/y.png')).rejects.toMatchObject({ code: 'InvalidSignature' });
        await expect(signer.verifyUpload(token, 'b/x.png')).rejects.toMatchObject({ code: 'InvalidSignature' });
        now = new Date('2030-01-01T00:01:01Z');
        await expect(signer.verifyDownload(token, 'b/x.png')).rejects.toMatchObject({ code: 'InvalidJWT' });
        const other = createUrlSigner('another-secret-of-at-least-thirty-two-chars', () => now);
        await expect(other.verifyDownload(await signer.signDownload({ url: 'b/x.png' }, 60), 'b/x.png')).rejects.toMatchObject({ code: 'InvalidJWT' });
    });
});

describe('[storage] in config.toml', () => {
    const config = (storage: unknown) => ({ project_id: 'p', workdir: '/project', raw: { storage }, auth: {} }) as unknown as ProjectConfig;

    it('reads the limits, the transformation switch and the buckets, objects_path relative to supabase/', () => {
        const settings = storageSettings(
            config({
                file_size_limit: '10MiB',
                image_transformation: { enabled: true },
                buckets: { avatars: { public: true, file_size_limit: '1MB', allowed_mime_types: ['image/png'], objects_path: './seed/avatars' } },
            }),
        );
        expect(settings).toEqual({
            enabled: true,
            fileSizeLimit: 10 * 1024 * 1024,
            imageTransformation: true,
            buckets: [{ name: 'avatars', public: true, fileSizeLimit: 1024 * 1024, allowedMimeTypes: ['image/png'], objectsPath: '/project/supabase/seed/avatars' }],
        });
    });

    it('defaults as the CLI: enabled, 50MiB, transformations off without their section', () => {
        expect(storageSettings(config(undefined))).toEqual({ enabled: true, fileSizeLimit: 50 * 1024 * 1024, imageTransformation: false, buckets: [] });
    });

    it('a bad value fails naming the key', () => {
        expect(() => storageSettings(config({ file_size_limit: 'huge' }))).toThrow(/\[storage\] file_size_limit/);
        expect(() => storageSettings(config({ buckets: { b: { allowed_mime_types: ['png'] } } }))).toThrow(/buckets\.b\.allowed_mime_types/);
        expect(() => storageSettings(config({ buckets: { 'a/b': {} } }))).toThrow(/invalid bucket name/);
    });
});
