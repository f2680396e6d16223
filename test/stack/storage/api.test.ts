// Every /storage/v1 endpoint through supabase-js's storage client and the real gateway, on
// a real Postgres: buckets, uploads (raw and multipart, upsert, metadata), downloads
// (Range, ETag, download names), info/exists, list v1/v2, move, copy, remove, public and
// signed URLs, signed uploads, and Supabase's error bodies for each failure.
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it, beforeAll } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { signJwt } from '../../harness/rest.js';
import { useStorageService } from '../../harness/storage.js';

const storage = useStorageService({ settings: { fileSizeLimit: 5 * 1024 * 1024 } });
const USER = randomUUID();
const OTHER = randomUUID();

const text = (s: string) => new Blob([s], { type: 'text/plain' });

beforeAll(async () => {
    // A private bucket where users keep files under a folder named by their id.
    await storage.db.query(`insert into storage.buckets (id, name, public) values ('docs', 'docs', false), ('site', 'site', true)`);
    await storage.db.query(`
        create policy "Users can read their own docs" on storage.objects for select to authenticated
            using (bucket_id = 'docs' and (storage.foldername(name))[1] = (select auth.uid())::text);
        create policy "Users can add their own docs" on storage.objects for insert to authenticated
            with check (bucket_id = 'docs' and (storage.foldername(name))[1] = (select auth.uid())::text);
        create policy "Users can change their own docs" on storage.objects for update to authenticated
            using (bucket_id = 'docs' and (storage.foldername(name))[1] = (select auth.uid())::text);
        create policy "Users can delete their own docs" on storage.objects for delete to authenticated
            using (bucket_id = 'docs' and (storage.foldername(name))[1] = (select auth.uid())::text);
    `);
});

describe('buckets', () => {
    it('the service role creates, reads, lists, updates, empties and deletes a bucket', async () => {
        const admin = storage.serviceRole().storage;
        const id = `b-${randomUUID().slice(0, 8)}`;
        expect(await admin.createBucket(id, { public: false, fileSizeLimit: '1MB', allowedMimeTypes: ['image/png'] })).toEqual({ data: { name: id }, error: null });
        const got = await admin.getBucket(id);
        expect(got.data).toMatchObject({ id, name: id, public: false, file_size_limit: 1_000_000, allowed_mime_types: ['image/png'], type: 'STANDARD' });
        expect((await admin.listBuckets()).data!.map((b) => b.id)).toContain(id);
        expect((await admin.listBuckets({ search: id.slice(2), limit: 5 })).data!.map((b) => b.id)).toEqual([id]);
        expect((await admin.updateBucket(id, { public: true, fileSizeLimit: 2048 })).data).toEqual({ message: 'Successfully updated' });
        expect((await admin.getBucket(id)).data).toMatchObject({ public: true, file_size_limit: 2048 });
        await admin.from(id).upload('a.png', new Blob([new Uint8Array([1])], { type: 'image/png' }));
        const notEmpty = await admin.deleteBucket(id);
        expect(notEmpty.error).toMatchObject({ status: 400, statusCode: '409' });
        expect((notEmpty.error as unknown as { code: string }).code).toBe('ResourceNotEmpty');
        expect((await admin.emptyBucket(id)).data).toEqual({ message: 'Empty bucket has been queued. Completion may take up to an hour.' });
        expect((await admin.deleteBucket(id)).data).toEqual({ message: 'Successfully deleted' });
        const gone = await admin.getBucket(id);
        expect(gone.error).toMatchObject({ status: 400, statusCode: '404', message: 'Bucket not found' });
    });

    it('a duplicate bucket is 409 Duplicate (BucketAlreadyExists) inside an HTTP 400', async () => {
        const response = await fetch(`${storage.storageUrl}/bucket`, {
            method: 'POST',
            headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'docs' }),
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({ statusCode: '409', error: 'Duplicate', code: 'BucketAlreadyExists', message: 'The resource already exists' });
    });

    it('anon and users cannot create or see buckets without a policy', async () => {
        const created = await storage.anon().storage.createBucket('sneaky');
        expect(created.error).toMatchObject({ statusCode: '403', message: 'new row violates row-level security policy' });
        expect((await storage.anon().storage.listBuckets()).data).toEqual([]);
        expect((await storage.db.query(`select 1 from storage.buckets where id = 'sneaky'`)).length).toBe(0);
    });

    it('emptying a bucket is for the service role only (a real HTTP 403)', async () => {
        const response = await fetch(`${storage.storageUrl}/bucket/docs/empty`, { method: 'POST', headers: { apikey: LOCAL_ANON_KEY } });
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ statusCode: '403', code: 'AccessDenied' });
    });

    it('a bucket limit above the global one is refused; invalid names are refused', async () => {
        const admin = storage.serviceRole().storage;
        expect((await admin.createBucket('too-big', { public: false, fileSizeLimit: '1GB' })).error).toMatchObject({ statusCode: '413' });
        expect((await admin.createBucket('a/b', { public: false })).error).toMatchObject({ statusCode: '400', message: 'Bucket name invalid' });
    });
});

describe('uploads and downloads', () => {
    it('uploads a Blob (multipart) and downloads the same bytes with its content type', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/hello.txt`;
        const up = await client.storage.from('docs').upload(key, text('hello world'), { cacheControl: '60', metadata: { purpose: 'test' } });
        expect(up.error).toBeNull();
        expect(up.data).toMatchObject({ path: key, fullPath: `docs/${key}` });
        expect(up.data!.id).toMatch(/^[0-9a-f-]{36}$/);
        const down = await client.storage.from('docs').download(key);
        expect(await down.data!.text()).toBe('hello world');
        expect(down.data!.type).toBe('text/plain');
        const [row] = await storage.db.query<{ owner: string; owner_id: string; metadata: Record<string, unknown>; user_metadata: unknown }>(
            `select owner, owner_id, metadata, user_metadata from storage.objects where bucket_id = 'docs' and name = $1`,
            [key],
        );
        expect(row).toMatchObject({ owner: USER, owner_id: USER, user_metadata: { purpose: 'test' } });
        expect(row!.metadata).toMatchObject({ size: 11, mimetype: 'text/plain', cacheControl: 'max-age=60', eTag: `"${createHash('md5').update('hello world').digest('hex')}"`, httpStatusCode: 200 });
    });

    it('uploads raw bytes with content-type, cache-control and x-metadata', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/raw.bin`;
        const bytes = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const up = await client.storage.from('docs').upload(key, bytes, { contentType: 'application/octet-stream', metadata: { a: 1 } });
        expect(up.error).toBeNull();
        const info = await client.storage.from('docs').info(key);
        expect(info.data).toMatchObject({ name: key, bucketId: 'docs', size: 10, contentType: 'application/octet-stream', cacheControl: 'max-age=3600', metadata: { a: 1 } });
        expect(info.data!.version).toMatch(/^[0-9a-f-]{36}$/);
        expect((await client.storage.from('docs').exists(key)).data).toBe(true);
        expect((await client.storage.from('docs').exists(`${USER}/missing`)).data).toBe(false);
    });

    it('a second upload without upsert is 409 Duplicate; with upsert (or update) it replaces the bytes and the old file', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/replace.txt`;
        await client.storage.from('docs').upload(key, text('one'));
        const again = await client.storage.from('docs').upload(key, text('two'));
        expect(again.error).toMatchObject({ status: 400, statusCode: '409', message: 'The resource already exists' });
        const files = storage.filesOnDisk().length;
        expect((await client.storage.from('docs').upload(key, text('two'), { upsert: true })).error).toBeNull();
        expect(await (await client.storage.from('docs').download(key)).data!.text()).toBe('two');
        expect((await client.storage.from('docs').update(key, text('three'))).error).toBeNull();
        expect(await (await client.storage.from('docs').download(key)).data!.text()).toBe('three');
        expect(storage.filesOnDisk().length).toBe(files);
    });

    it('concurrent uploads of one new key: one wins, the others get 409; concurrent upserts leave one file', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/race-${randomUUID()}.txt`;
        const results = await Promise.all([1, 2, 3, 4].map((i) => client.storage.from('docs').upload(key, text(`racer ${i}`))));
        expect(results.filter((r) => r.error === null)).toHaveLength(1);
        expect(results.filter((r) => r.error !== null).map((r) => r.error!.message)).toEqual(Array(3).fill('The resource already exists'));
        const upserted = `${USER}/upsert-race-${randomUUID()}.txt`;
        const before = storage.filesOnDisk().length;
        const upserts = await Promise.all([1, 2, 3, 4].map((i) => client.storage.from('docs').upload(upserted, text(`upsert ${i}`), { upsert: true })));
        expect(upserts.every((r) => r.error === null)).toBe(true);
        expect(storage.filesOnDisk().length).toBe(before + 1);
        const versions = await storage.db.query<{ version: string }>(`select version from storage.objects`);
        expect(storage.filesOnDisk().sort()).toEqual(versions.map((v) => v.version).sort());
    });

    it('Range gives 206 with Content-Range; an unsatisfiable one is 416', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/range.txt`;
        await client.storage.from('docs').upload(key, text('0123456789'));
        const token = await storage.token(USER);
        const url = `${storage.storageUrl}/object/authenticated/docs/${key}`;
        const partial = await fetch(url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=2-5' } });
        expect(partial.status).toBe(206);
        expect(partial.headers.get('content-range')).toBe('bytes 2-5/10');
        expect(await partial.text()).toBe('2345');
        const bad = await fetch(url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=50-' } });
        expect(bad.status).toBe(416);
    });

    it('ETag and If-None-Match give 304; ?download names the attachment', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/etag.txt`;
        await client.storage.from('docs').upload(key, text('cache me'));
        const token = await storage.token(USER);
        const url = `${storage.storageUrl}/object/docs/${key}`;
        const first = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        const etag = first.headers.get('etag')!;
        expect(etag).toBe(`"${createHash('md5').update('cache me').digest('hex')}"`);
        expect(first.headers.get('cache-control')).toBe('max-age=3600');
        expect(first.headers.get('last-modified')).toBeTruthy();
        const again = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
        expect(again.status).toBe(304);
        const named = await fetch(`${url}?download=report.txt`, { headers: { authorization: `Bearer ${token}` } });
        expect(named.headers.get('content-disposition')).toBe("attachment; filename=report.txt; filename*=UTF-8''report.txt;");
    });

    it('missing objects and buckets answer NoSuchKey / NoSuchBucket', async () => {
        const client = await storage.user(USER);
        const missing = await client.storage.from('docs').info(`${USER}/nope`);
        expect(missing.error).toMatchObject({ status: 400, statusCode: '404', message: 'Object not found' });
        expect((missing.error as unknown as { code: string }).code).toBe('NoSuchKey');
        const noBucket = await client.storage.from('nope').upload('x.txt', text('x'));
        expect(noBucket.error).toMatchObject({ statusCode: '404', message: 'Bucket not found' });
    });

    it('invalid keys are refused with InvalidKey', async () => {
        const admin = storage.serviceRole().storage;
        const result = await admin.from('docs').upload('bad\u00e9name.txt', text('x'));
        expect(result.error).toMatchObject({ statusCode: '400' });
        expect(result.error!.message).toMatch(/^Invalid key: /);
    });

    it('an upload refused before its body is read does not stall the next request on the connection', async () => {
        const big = new Uint8Array(3 * 1024 * 1024);
        for (let i = 0; i < 3; i++) {
            const denied = await storage.anon().storage.from('docs').upload(`${USER}/denied-${i}.bin`, big, { contentType: 'application/octet-stream' });
            expect(denied.error).toMatchObject({ statusCode: '403' });
            const listed = await storage.serviceRole().storage.from('docs').list(USER, { limit: 1 });
            expect(listed.error).toBeNull();
        }
    });

    it('a JWT that does not verify is AccessDenied (403 in the body), and nothing is written', async () => {
        const forged = await signJwt({ sub: USER, role: 'authenticated' }, 'some-other-secret-that-is-at-least-32-characters');
        const response = await fetch(`${storage.storageUrl}/object/docs/${USER}/forged.txt`, {
            method: 'POST',
            headers: { authorization: `Bearer ${forged}`, 'content-type': 'text/plain' },
            body: 'forged',
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ statusCode: '403', code: 'AccessDenied', error: 'Unauthorized' });
        expect(await storage.db.query(`select 1 from storage.objects where name = $1`, [`${USER}/forged.txt`])).toEqual([]);
    });

    it('x-metadata that is not base64 JSON is a 400 InvalidRequest', async () => {
        const response = await fetch(`${storage.storageUrl}/object/site/bad-metadata.txt`, {
            method: 'POST',
            headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, 'content-type': 'text/plain', 'x-metadata': Buffer.from('not json').toString('base64') },
            body: 'x',
        });
        expect(await response.json()).toMatchObject({ statusCode: '400', code: 'InvalidRequest' });
    });

    it('malformed requests are 4xx with a stable code, never 5xx', async () => {
        const json = { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, 'content-type': 'application/json' };
        const cases: Array<[string, string, Record<string, string>, string | undefined]> = [
            ['POST', '/bucket', json, '{not json'],
            ['POST', '/bucket', json, 'null'],
            ['POST', '/bucket', json, JSON.stringify({ name: 'x'.repeat(200) })],
            ['POST', '/bucket', json, JSON.stringify({ name: 'limits', file_size_limit: 'ten parsecs' })],
            ['PUT', '/bucket/docs', json, JSON.stringify({})],
            ['GET', '/bucket?sortColumn=owner', json, undefined],
            ['POST', '/object/list/docs', json, JSON.stringify({ limit: -1 })],
            ['POST', '/object/list-v2/docs', json, JSON.stringify({ cursor: '!!!' })],
            ['POST', '/object/move', json, JSON.stringify({ bucketId: 'docs' })],
            ['POST', '/object/sign/docs/a.txt', json, JSON.stringify({ expiresIn: -5 })],
            ['POST', '/object/sign/docs', json, JSON.stringify({ expiresIn: 60, paths: [] })],
            ['DELETE', '/object/docs', json, JSON.stringify({ prefixes: 'a' })],
            ['GET', '/object/sign/docs/a.txt', json, undefined],
            ['GET', '/object/sign/docs/a.txt?token=not.a.jwt', json, undefined],
            ['GET', '/render/image/public/site/x.png?width=wide', json, undefined],
            ['GET', '/render/image/public/site/x.png?resize=squash', json, undefined],
            ['GET', '/object/docs/%E0%A4%A', json, undefined],
            ['POST', '/object/docs/a.txt', { ...json, 'content-type': 'multipart/form-data; boundary=x' }, 'garbage'],
        ];
        for (const [method, route, headers, body] of cases) {
            const response = await fetch(`${storage.storageUrl}${route}`, { method, headers, body });
            const payload = (await response.json()) as { statusCode: string; code: string };
            expect([method, route, response.status < 500, typeof payload.code]).toEqual([method, route, true, 'string']);
            expect(Number(payload.statusCode)).toBeLessThan(500);
        }
    });

    it('an unknown route is a real 404 with Storage\'s body', async () => {
        const response = await fetch(`${storage.storageUrl}/nothing-here`, { headers: { apikey: LOCAL_ANON_KEY } });
        expect(response.status).toBe(404);
        expect(await response.json()).toEqual({ statusCode: '404', error: 'Not Found', code: 'InvalidRequest', message: 'Route GET:/nothing-here not found' });
    });
});

describe('listing', () => {
    beforeAll(async () => {
        const admin = storage.serviceRole().storage.from('site');
        for (const key of ['list/a.txt', 'list/b.txt', 'list/sub/c.txt', 'list/sub/deeper/d.txt', 'list/other/e.txt']) await admin.upload(key, text(key));
    });

    it('list v1 shows one level: folders (id null) then files, names relative', async () => {
        const { data, error } = await storage.serviceRole().storage.from('site').list('list');
        expect(error).toBeNull();
        expect(data!.map((e) => [e.name, e.id === null])).toEqual([
            ['other', true],
            ['sub', true],
            ['a.txt', false],
            ['b.txt', false],
        ]);
        expect(data![2]!.metadata).toMatchObject({ size: 10, mimetype: 'text/plain' });
    });

    it('list v1 honours limit, offset, search and sortBy', async () => {
        const bucket = storage.serviceRole().storage.from('site');
        expect((await bucket.list('list', { limit: 1, offset: 2 })).data!.map((e) => e.name)).toEqual(['a.txt']);
        expect((await bucket.list('list', { search: 'B' })).data!.map((e) => e.name)).toEqual(['b.txt']);
        expect((await bucket.list('list', { sortBy: { column: 'name', order: 'desc' } })).data!.map((e) => e.name)).toEqual(['sub', 'other', 'b.txt', 'a.txt']);
    });

    it('list v2 pages with a cursor, with and without the delimiter', async () => {
        const bucket = storage.serviceRole().storage.from('site');
        const flat = await bucket.listV2({ prefix: 'list/', limit: 3 });
        expect(flat.data!.hasNext).toBe(true);
        expect(flat.data!.objects.map((o) => o.name)).toEqual(['list/a.txt', 'list/b.txt', 'list/other/e.txt']);
        expect(flat.data!.objects.map((o) => o.key)).toEqual(['a.txt', 'b.txt', 'other/e.txt']);
        const next = await bucket.listV2({ prefix: 'list/', limit: 3, cursor: flat.data!.nextCursor });
        expect(next.data!.objects.map((o) => o.name)).toEqual(['list/sub/c.txt', 'list/sub/deeper/d.txt']);
        expect(next.data!.hasNext).toBe(false);
        const level = await bucket.listV2({ prefix: 'list/', with_delimiter: true });
        expect(level.data!.folders).toEqual([
            { name: 'list/other/', key: 'other' },
            { name: 'list/sub/', key: 'sub' },
        ]);
        expect(level.data!.objects.map((o) => [o.name, o.key])).toEqual([
            ['list/a.txt', 'a.txt'],
            ['list/b.txt', 'b.txt'],
        ]);
    });

    it('a user lists only what their SELECT policy shows', async () => {
        const mine = await storage.user(USER);
        const theirs = await storage.user(OTHER);
        await theirs.storage.from('docs').upload(`${OTHER}/secret.txt`, text('secret'));
        expect((await mine.storage.from('docs').list(OTHER)).data).toEqual([]);
        expect((await theirs.storage.from('docs').list(OTHER)).data!.map((e) => e.name)).toEqual(['secret.txt']);
    });
});

describe('move, copy, remove', () => {
    it('moves within and across buckets; the source disappears', async () => {
        const admin = storage.serviceRole().storage;
        await admin.from('site').upload('move/src.txt', text('moving'));
        expect((await admin.from('site').move('move/src.txt', 'move/dst.txt')).data).toEqual({ message: 'Successfully moved' });
        expect((await admin.from('site').exists('move/src.txt')).data).toBe(false);
        expect(await (await admin.from('site').download('move/dst.txt')).data!.text()).toBe('moving');
        expect((await admin.from('site').move('move/dst.txt', `${USER}/moved.txt`, { destinationBucket: 'docs' })).error).toBeNull();
        expect(await (await admin.from('docs').download(`${USER}/moved.txt`)).data!.text()).toBe('moving');
    });

    it('copies across buckets with metadata; the source stays', async () => {
        const admin = storage.serviceRole().storage;
        await admin.from('site').upload('copy/src.txt', text('copied'), { metadata: { k: 'v' } });
        const copied = await admin.from('site').copy('copy/src.txt', `${USER}/copy.txt`, { destinationBucket: 'docs' });
        expect(copied.data).toEqual({ path: `docs/${USER}/copy.txt` });
        expect(await (await admin.from('docs').download(`${USER}/copy.txt`)).data!.text()).toBe('copied');
        expect((await admin.from('docs').info(`${USER}/copy.txt`)).data!.metadata).toEqual({ k: 'v' });
        expect((await admin.from('site').exists('copy/src.txt')).data).toBe(true);
    });

    it('a user cannot move or copy into another user\'s folder', async () => {
        const client = await storage.user(USER);
        await client.storage.from('docs').upload(`${USER}/mine.txt`, text('mine'));
        const moved = await client.storage.from('docs').move(`${USER}/mine.txt`, `${OTHER}/stolen.txt`);
        expect(moved.error).toMatchObject({ statusCode: '403' });
        const copied = await client.storage.from('docs').copy(`${USER}/mine.txt`, `${OTHER}/stolen.txt`);
        expect(copied.error).toMatchObject({ statusCode: '403' });
        expect(await storage.db.query(`select 1 from storage.objects where name = $1`, [`${OTHER}/stolen.txt`])).toEqual([]);
        expect((await client.storage.from('docs').exists(`${USER}/mine.txt`)).data).toBe(true);
    });

    it('removes many at once (returning the rows) and deletes their files', async () => {
        const admin = storage.serviceRole().storage.from('site');
        await admin.upload('rm/1.txt', text('1'));
        await admin.upload('rm/2.txt', text('2'));
        const before = storage.filesOnDisk().length;
        const removed = await admin.remove(['rm/1.txt', 'rm/2.txt', 'rm/absent.txt']);
        expect(removed.data!.map((r) => r.name).sort()).toEqual(['rm/1.txt', 'rm/2.txt']);
        expect(storage.filesOnDisk().length).toBe(before - 2);
    });

    it('deleting one object someone else owns is AccessDenied and leaves it there', async () => {
        const theirs = await storage.user(OTHER);
        await theirs.storage.from('docs').upload(`${OTHER}/keep.txt`, text('keep'));
        const token = await storage.token(USER);
        const response = await fetch(`${storage.storageUrl}/object/docs/${OTHER}/keep.txt`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ statusCode: '403', code: 'AccessDenied' });
        expect((await theirs.storage.from('docs').exists(`${OTHER}/keep.txt`)).data).toBe(true);
    });
});

describe('policies see the request', () => {
    it('storage.operation() and auth.jwt() are set inside policies', async () => {
        await storage.db.query(`insert into storage.buckets (id, name) values ('ops', 'ops')`);
        await storage.db.query(`
            create policy "Members can upload, not copy, into ops" on storage.objects for insert to authenticated
                with check (bucket_id = 'ops' and storage.operation() = 'storage.object.upload' and (select auth.jwt()) ->> 'team' = 'ops');
        `);
        const member = await storage.user(USER, { team: 'ops' });
        expect((await member.storage.from('ops').upload('direct.txt', text('ok'))).error).toBeNull();
        const outsider = await storage.user(OTHER);
        expect((await outsider.storage.from('ops').upload('outsider.txt', text('no'))).error).toMatchObject({ statusCode: '403' });
        await storage.serviceRole().storage.from('site').upload('ops-source.txt', text('src'));
        const copied = await member.storage.from('site').copy('ops-source.txt', 'copied.txt', { destinationBucket: 'ops' });
        expect(copied.error).not.toBeNull();
        expect((await storage.db.query(`select name from storage.objects where bucket_id = 'ops' order by name`)).map((r) => r.name)).toEqual(['direct.txt']);
    });
});

describe('public and signed URLs', () => {
    it('public URLs serve public buckets without a key and refuse private ones', async () => {
        const admin = storage.serviceRole().storage;
        await admin.from('site').upload('pub/page.txt', text('public page'));
        const { publicUrl } = admin.from('site').getPublicUrl('pub/page.txt').data;
        const response = await fetch(publicUrl);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('public page');
        await admin.from('docs').upload(`${USER}/private.txt`, text('private'));
        const denied = await fetch(admin.from('docs').getPublicUrl(`${USER}/private.txt`).data.publicUrl);
        expect(await denied.json()).toMatchObject({ statusCode: '404', message: 'Bucket not found' });
    });

    it('a signed URL serves the object until it expires (injected clock), with a download name', async () => {
        const client = await storage.user(USER);
        await client.storage.from('docs').upload(`${USER}/signed.txt`, text('signed bytes'));
        const signed = await client.storage.from('docs').createSignedUrl(`${USER}/signed.txt`, 60, { download: 'mine.txt' });
        expect(signed.error).toBeNull();
        const ok = await fetch(signed.data!.signedUrl);
        expect(await ok.text()).toBe('signed bytes');
        expect(ok.headers.get('content-disposition')).toContain('filename=mine.txt');
        storage.advanceClock(61);
        const expired = await fetch(signed.data!.signedUrl);
        expect(expired.status).toBe(400);
        expect(await expired.json()).toMatchObject({ statusCode: '400', code: 'InvalidJWT' });
    });

    it('a token for one path does not open another', async () => {
        const client = await storage.user(USER);
        await client.storage.from('docs').upload(`${USER}/a1.txt`, text('a1'));
        const signed = await client.storage.from('docs').createSignedUrl(`${USER}/a1.txt`, 60);
        const token = new URL(signed.data!.signedUrl).searchParams.get('token');
        const response = await fetch(`${storage.storageUrl}/object/sign/docs/${OTHER}/secret.txt?token=${token}`);
        expect(await response.json()).toMatchObject({ statusCode: '400', code: 'InvalidSignature' });
    });

    it('signing needs SELECT: another user\'s file cannot be signed', async () => {
        const client = await storage.user(USER);
        const result = await client.storage.from('docs').createSignedUrl(`${OTHER}/secret.txt`, 60);
        expect(result.error).toMatchObject({ statusCode: '404', message: 'Object not found' });
    });

    it('bulk signing marks what the caller cannot see', async () => {
        const client = await storage.user(USER);
        await client.storage.from('docs').upload(`${USER}/bulk.txt`, text('bulk'));
        const { data } = await client.storage.from('docs').createSignedUrls([`${USER}/bulk.txt`, `${OTHER}/secret.txt`], 60);
        expect(data![0]).toMatchObject({ error: null, path: `${USER}/bulk.txt` });
        expect(await (await fetch(data![0]!.signedUrl!)).text()).toBe('bulk');
        expect(data![1]).toMatchObject({ error: 'Either the object does not exist or you do not have access to it', signedUrl: null });
    });

    it('a signed upload URL lets anyone holding it upload once to that path, as the signer', async () => {
        const client = await storage.user(USER);
        const key = `${USER}/via-signed-url.txt`;
        const signed = await client.storage.from('docs').createSignedUploadUrl(key);
        expect(signed.error).toBeNull();
        const uploaded = await storage.anon().storage.from('docs').uploadToSignedUrl(key, signed.data!.token, text('from a signed url'));
        expect(uploaded.error).toBeNull();
        expect(uploaded.data).toMatchObject({ path: key, fullPath: `docs/${key}` });
        const [row] = await storage.db.query<{ owner: string }>(`select owner from storage.objects where name = $1`, [key]);
        expect(row!.owner).toBe(USER);
        const again = await storage.anon().storage.from('docs').uploadToSignedUrl(key, signed.data!.token, text('again'));
        expect(again.error).toMatchObject({ statusCode: '409' });
        const elsewhere = await storage.anon().storage.from('docs').uploadToSignedUrl(`${USER}/other.txt`, signed.data!.token, text('x'));
        expect(elsewhere.error).toMatchObject({ statusCode: '400', message: 'Invalid signature' });
    });

    it('a signed upload URL cannot be made for a path the caller may not write', async () => {
        const client = await storage.user(USER);
        const result = await client.storage.from('docs').createSignedUploadUrl(`${OTHER}/x.txt`);
        expect(result.error).toMatchObject({ statusCode: '403' });
    });
});
