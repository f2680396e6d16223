// The OAuth 2.1 server's admin API through auth-js (`auth.admin.oauth.*`) with
// [auth.oauth_server] enabled: register, read, list, update, regenerate the secret, delete;
// redirect URIs as OAuth 2.1 requires them; secrets shown once and stored hashed; admins only.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY } from '../../../stack/keys.js';
import { useAuthService } from '../../harness/auth.js';

const auth = useAuthService('features');
const oauth = () => auth.admin().auth.admin.oauth;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const stored = async (id: string) =>
    (await auth.db.query<{ client_secret_hash: string | null; deleted_at: Date | null }>('select client_secret_hash, deleted_at from auth.oauth_clients where id = $1', [id]))[0];
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const clientCount = async () => Number((await auth.db.query<{ n: string }>('select count(*) as n from auth.oauth_clients'))[0]!.n);

describe('registering OAuth clients', () => {
    it('a confidential client gets an id and a secret, shown once and stored only as a hash', async () => {
        const { data, error } = await oauth().createClient({ client_name: 'Warehouse app', client_uri: 'https://warehouse.example.test', redirect_uris: ['https://warehouse.example.test/callback'] });
        expect(error).toBeNull();
        expect(data).toEqual({
            client_id: expect.stringMatching(UUID),
            client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
            client_name: 'Warehouse app',
            client_uri: 'https://warehouse.example.test',
            client_type: 'confidential',
            token_endpoint_auth_method: 'client_secret_basic',
            registration_type: 'manual',
            redirect_uris: ['https://warehouse.example.test/callback'],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            created_at: expect.any(String),
            updated_at: expect.any(String),
        });
        expect(await stored(data!.client_id)).toEqual({ client_secret_hash: sha256(data!.client_secret!), deleted_at: null });
        const fetched = await oauth().getClient(data!.client_id);
        expect(fetched.data).not.toHaveProperty('client_secret');
        expect(fetched.data).toMatchObject({ client_id: data!.client_id, client_name: 'Warehouse app' });
    });

    it('a public client (token_endpoint_auth_method none) has no secret and cannot regenerate one', async () => {
        const { data } = await oauth().createClient({ client_name: 'Mobile app', redirect_uris: ['com.example.shop://callback'], token_endpoint_auth_method: 'none' });
        expect(data).toMatchObject({ client_type: 'public', token_endpoint_auth_method: 'none' });
        expect(data).not.toHaveProperty('client_secret');
        expect((await stored(data!.client_id))?.client_secret_hash).toBeNull();
        const { error } = await oauth().regenerateClientSecret(data!.client_id);
        expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'Cannot regenerate secret for public client' });
    });

    it('redirect URIs must be absolute, without fragment, https or loopback http; invalid ones store nothing', async () => {
        const before = await clientCount();
        const refused: Array<[unknown, RegExp]> = [
            [[], /redirect_uris is required/],
            [['https://shop.example.test/cb#token'], /fragment not allowed/],
            [['http://shop.example.test/cb'], /HTTP scheme only allowed for localhost/],
            [['/relative/callback'], /invalid URL format/],
            [['javascript://shop.example.test/%0Aalert(1)'], /scheme javascript not allowed/],
            [Array.from({ length: 11 }, (_, i) => `https://shop.example.test/cb${i}`), /cannot exceed 10 items/],
        ];
        for (const [redirect_uris, message] of refused) {
            const { error } = await oauth().createClient({ client_name: 'bad', redirect_uris: redirect_uris as string[] });
            expect(error, JSON.stringify(redirect_uris).slice(0, 60)).toMatchObject({ status: 400, code: 'validation_failed' });
            expect(error!.message).toMatch(message);
        }
        const grant = await oauth().createClient({ client_name: 'bad', redirect_uris: ['https://ok.example.test/cb'], grant_types: ['password'] });
        expect(grant.error).toMatchObject({ status: 400, code: 'validation_failed' });
        expect(await clientCount()).toBe(before);
        const accepted = await oauth().createClient({
            client_name: 'dev',
            redirect_uris: ['http://localhost:3000/cb', 'http://127.0.0.1:8080/cb', 'https://app.example.test/oauth/cb', 'com.example.shop://callback'],
        });
        expect(accepted.error).toBeNull();
        expect(accepted.data?.redirect_uris).toHaveLength(4);
    });
});

describe('managing OAuth clients', () => {
    it('lists clients a page at a time with the total', async () => {
        for (let i = 0; i < 3; i++) await oauth().createClient({ client_name: `paged ${i}`, redirect_uris: ['https://paged.example.test/cb'] });
        const total = Number((await auth.db.query<{ n: string }>('select count(*) as n from auth.oauth_clients where deleted_at is null'))[0]!.n);
        const { data, error } = await oauth().listClients({ page: 1, perPage: 2 });
        expect(error).toBeNull();
        expect(data.clients).toHaveLength(2);
        expect(data).toMatchObject({ aud: 'authenticated', total, nextPage: 2 });
        expect(data.clients.every((c) => !('client_secret' in c))).toBe(true);
    });

    it('updates only the fields sent, and keeps the client type', async () => {
        const { data: created } = await oauth().createClient({ client_name: 'Old name', redirect_uris: ['https://old.example.test/cb'] });
        const id = created!.client_id;
        const { data, error } = await oauth().updateClient(id, { client_name: 'New name', redirect_uris: ['https://new.example.test/cb'], logo_uri: 'https://new.example.test/logo.png' });
        expect(error).toBeNull();
        expect(data).toMatchObject({ client_name: 'New name', redirect_uris: ['https://new.example.test/cb'], logo_uri: 'https://new.example.test/logo.png', client_type: 'confidential' });
        const toPublic = await oauth().updateClient(id, { token_endpoint_auth_method: 'none' });
        expect(toPublic.error).toMatchObject({ status: 400, code: 'validation_failed' });
        const emptied = await oauth().updateClient(id, { redirect_uris: [] });
        expect(emptied.error).toMatchObject({ status: 400, code: 'validation_failed', message: 'redirect_uris cannot be empty' });
        const badUri = await oauth().updateClient(id, { redirect_uris: ['http://evil.example.test/cb'] });
        expect(badUri.error).toMatchObject({ status: 400, code: 'validation_failed' });
        expect((await oauth().getClient(id)).data).toMatchObject({ client_name: 'New name', redirect_uris: ['https://new.example.test/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    });

    it('regenerating the secret replaces it: the new one is shown once, the old hash is gone', async () => {
        const { data: created } = await oauth().createClient({ client_name: 'Rotating', redirect_uris: ['https://rotate.example.test/cb'] });
        const { data, error } = await oauth().regenerateClientSecret(created!.client_id);
        expect(error).toBeNull();
        expect(data!.client_secret).toBeTruthy();
        expect(data!.client_secret).not.toBe(created!.client_secret);
        expect((await stored(created!.client_id))?.client_secret_hash).toBe(sha256(data!.client_secret!));
    });

    it('deleting a client hides it from get and list (404 oauth_client_not_found)', async () => {
        const { data: created } = await oauth().createClient({ client_name: 'Doomed', redirect_uris: ['https://doomed.example.test/cb'] });
        const id = created!.client_id;
        expect((await oauth().deleteClient(id)).error).toBeNull();
        expect((await stored(id))?.deleted_at).toBeInstanceOf(Date);
        expect((await oauth().getClient(id)).error).toMatchObject({ status: 404, code: 'oauth_client_not_found', message: 'OAuth client not found' });
        expect((await oauth().deleteClient(id)).error).toMatchObject({ status: 404, code: 'oauth_client_not_found' });
        expect((await oauth().listClients({ perPage: 1000 })).data.clients.map((c) => c.client_id)).not.toContain(id);
        expect((await oauth().getClient('not-a-uuid')).error).toMatchObject({ status: 404, code: 'oauth_client_not_found' });
    });

    it('is closed to anon and signed-in users (403 not_admin), who change nothing', async () => {
        const before = await clientCount();
        const { data } = await auth.client().auth.signUp({ email: `oauth-${Date.now()}@example.test`, password: 'oauth-pass-1' });
        for (const token of [LOCAL_ANON_KEY, data.session!.access_token]) {
            const response = await auth.fetch('/admin/oauth/clients', {
                method: 'POST',
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body: JSON.stringify({ client_name: 'sneaky', redirect_uris: ['https://sneaky.example.test/cb'] }),
            });
            expect(response.status).toBe(403);
            expect(await response.json()).toMatchObject({ error_code: 'not_admin' });
        }
        expect(await clientCount()).toBe(before);
    });
});
