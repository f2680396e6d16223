// Resumable uploads over TUS at /storage/v1/upload/resumable with tus-js-client: an upload
// interrupted after some chunks and resumed from the server's offset yields the same bytes
// (checksum); a dropped PATCH connection is resumed the same way; RLS, limits and signed
// uploads apply; errors keep their real status with a plain-text body.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as tus from 'tus-js-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { useStorageService } from '../../harness/storage.js';

const storage = useStorageService({ settings: { fileSizeLimit: 4 * 1024 * 1024 } });
const USER = randomUUID();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
    await storage.db.query(`insert into storage.buckets (id, name, file_size_limit) values ('uploads', 'uploads', null), ('tiny', 'tiny', 1000)`);
    await storage.db.query(`
        create policy "Users can add files to their folder" on storage.objects for insert to authenticated
            with check (bucket_id = 'uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
        create policy "Users can read files in their folder" on storage.objects for select to authenticated
            using (bucket_id = 'uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
    `);
});

interface Options {
    token: string;
    objectName: string;
    bucketName?: string;
    chunkSize?: number;
    uploadUrl?: string;
    onChunkComplete?: (upload: tus.Upload) => void;
}

function startUpload(data: Buffer, o: Options): { upload: tus.Upload; done: Promise<void> } {
    let upload!: tus.Upload;
    const done = new Promise<void>((resolve, reject) => {
        upload = new tus.Upload(data, {
            endpoint: `${storage.storageUrl}/upload/resumable`,
            uploadUrl: o.uploadUrl,
            headers: { authorization: `Bearer ${o.token}`, apikey: LOCAL_ANON_KEY },
            metadata: { bucketName: o.bucketName ?? 'uploads', objectName: o.objectName, contentType: 'application/octet-stream', cacheControl: '3600' },
            chunkSize: o.chunkSize ?? 64 * 1024,
            retryDelays: [],
            uploadDataDuringCreation: false,
            onChunkComplete: () => o.onChunkComplete?.(upload),
            onSuccess: () => resolve(),
            onError: (error) => reject(error),
        });
        upload.start();
    });
    return { upload, done };
}

async function downloaded(token: string, key: string): Promise<Buffer> {
    const response = await fetch(`${storage.storageUrl}/object/authenticated/uploads/${key}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
}

describe('resumable uploads (TUS)', () => {
    it('a whole upload in chunks becomes an object with the same bytes', async () => {
        const token = await storage.token(USER);
        const data = randomBytes(300 * 1024);
        await startUpload(data, { token, objectName: `${USER}/whole.bin` }).done;
        expect(sha256(await downloaded(token, `${USER}/whole.bin`))).toBe(sha256(data));
        const info = await (await storage.user(USER)).storage.from('uploads').info(`${USER}/whole.bin`);
        expect(info.data).toMatchObject({ size: data.length, cacheControl: 'max-age=3600', contentType: 'application/octet-stream' });
    });

    it('interrupted after two chunks and resumed from the server offset: the same bytes', async () => {
        const token = await storage.token(USER);
        const data = randomBytes(512 * 1024);
        let chunks = 0;
        let url = '';
        let interrupted!: () => void;
        const aborted = new Promise<void>((resolve) => (interrupted = resolve));
        startUpload(data, {
            token,
            objectName: `${USER}/resumed.bin`,
            onChunkComplete: (upload) => {
                chunks++;
                url = upload.url!;
                if (chunks === 2) void upload.abort().then(interrupted);
            },
        });
        await aborted;
        expect(chunks).toBe(2);
        const head = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
        expect(Number(head.headers.get('upload-offset'))).toBe(128 * 1024);
        expect(await storage.db.query(`select 1 from storage.objects where name = $1`, [`${USER}/resumed.bin`])).toEqual([]);
        let resumedChunks = 0;
        await startUpload(data, { token, objectName: `${USER}/resumed.bin`, uploadUrl: url, onChunkComplete: () => resumedChunks++ }).done;
        expect(resumedChunks).toBe(6);
        expect(sha256(await downloaded(token, `${USER}/resumed.bin`))).toBe(sha256(data));
    });

    it('a PATCH whose connection drops mid-body is resumed from what arrived', async () => {
        const token = await storage.token(USER);
        const data = randomBytes(200 * 1024);
        const headers = { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' };
        const b64 = (v: string) => Buffer.from(v).toString('base64');
        const meta = `bucketName ${b64('uploads')},objectName ${b64(`${USER}/dropped.bin`)}`;
        const created = await fetch(`${storage.storageUrl}/upload/resumable`, { method: 'POST', headers: { ...headers, 'upload-length': String(data.length), 'upload-metadata': meta } });
        expect(created.status).toBe(201);
        const location = created.headers.get('location')!;
        expect(location).toMatch(new RegExp(`^${storage.storageUrl}/upload/resumable/`));
        const abort = new AbortController();
        const body = new ReadableStream<Uint8Array>({
            start(controller) {
                controller.enqueue(data.subarray(0, 80 * 1024));
                setTimeout(() => abort.abort(), 300);
            },
        });
        await fetch(location, {
            method: 'PATCH',
            headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
            body,
            duplex: 'half',
            signal: abort.signal,
        } as RequestInit).catch(() => undefined);
        let offset = 0;
        for (let i = 0; i < 50 && offset === 0; i++) {
            await new Promise((r) => setTimeout(r, 100));
            offset = Number((await fetch(location, { method: 'HEAD', headers })).headers.get('upload-offset'));
        }
        expect(offset).toBeGreaterThan(0);
        expect(offset).toBeLessThanOrEqual(80 * 1024);
        const rest = await fetch(location, {
            method: 'PATCH',
            headers: { ...headers, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
            body: data.subarray(offset),
        });
        expect(rest.status).toBe(204);
        expect(sha256(await downloaded(token, `${USER}/dropped.bin`))).toBe(sha256(data));
    });

    it('anon cannot start an upload (RLS, 403 with a text body); nothing is created', async () => {
        const error = await startUpload(Buffer.from('x'), { token: LOCAL_ANON_KEY, objectName: `${USER}/anon.bin` }).done.catch((e: tus.DetailedError) => e);
        expect((error as tus.DetailedError).originalResponse?.getStatus()).toBe(403);
        expect((error as tus.DetailedError).originalResponse?.getBody()).toBe('new row violates row-level security policy');
        expect(await storage.db.query(`select 1 from storage.objects where name = $1`, [`${USER}/anon.bin`])).toEqual([]);
    });

    it('larger than the bucket limit: 413', async () => {
        const error = await startUpload(Buffer.alloc(2000), { token: LOCAL_SERVICE_ROLE_KEY, bucketName: 'tiny', objectName: 'big.bin' }).done.catch((e: tus.DetailedError) => e);
        expect((error as tus.DetailedError).originalResponse?.getStatus()).toBe(413);
    });

    it('a signed upload URL token in x-signature uploads to its path', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/signed-tus.bin`;
        const signed = await client.storage.from('uploads').createSignedUploadUrl(key);
        const data = randomBytes(100 * 1024);
        await new Promise<void>((resolve, reject) => {
            new tus.Upload(data, {
                endpoint: `${storage.storageUrl}/upload/resumable/sign`,
                headers: { 'x-signature': signed.data!.token, 'x-upsert': 'true' },
                metadata: { bucketName: 'uploads', objectName: key, contentType: 'application/octet-stream' },
                chunkSize: 64 * 1024,
                retryDelays: [],
                onSuccess: () => resolve(),
                onError: reject,
            }).start();
        });
        expect(sha256(await downloaded(await storage.token(USER), key))).toBe(sha256(data));
    });
});
