// Broadcast, presence, private channels and the socket handshake, through the gateway
// with supabase-js's realtime client (both serializers).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useTestDatabase } from '../../harness/db.js';
import { accessToken, Inbox, subscribed, subscribeOutcome, useRealtime } from '../../harness/realtime.js';

const room = () => `room-${randomUUID().slice(0, 8)}`;

describe('realtime channels', () => {
    const db = useTestDatabase();
    const rt = useRealtime(db);

    for (const vsn of ['1.0.0', '2.0.0'] as const) {
        it(`broadcasts between two clients (serializer ${vsn}): the sender hears itself only with self, ack answers`, async () => {
            const topic = room();
            const sender = rt.client({ vsn }).channel(topic, { config: { broadcast: { self: false, ack: true } } });
            const selfSender = rt.client({ vsn }).channel(topic, { config: { broadcast: { self: true } } });
            const receiver = rt.client({ vsn }).channel(topic);
            const [fromSender, fromSelf, atReceiver] = [new Inbox<{ payload: unknown }>(), new Inbox<{ payload: unknown }>(), new Inbox<{ payload: unknown }>()];
            sender.on('broadcast', { event: 'moved' }, fromSender.push);
            selfSender.on('broadcast', { event: 'moved' }, fromSelf.push);
            receiver.on('broadcast', { event: 'moved' }, atReceiver.push);
            await Promise.all([subscribed(sender), subscribed(selfSender), subscribed(receiver)]);

            expect(await sender.send({ type: 'broadcast', event: 'moved', payload: { n: 1 } })).toBe('ok');
            await selfSender.send({ type: 'broadcast', event: 'moved', payload: { n: 2 } });
            await atReceiver.count(2);
            await fromSelf.count(2);
            // Both messages reached everyone else; the sender without `self` got only the other's.
            await fromSender.count(1);
            expect(atReceiver.items.map((m) => m.payload)).toEqual([{ n: 1 }, { n: 2 }]);
            expect(fromSelf.items.map((m) => m.payload)).toEqual([{ n: 1 }, { n: 2 }]);
            expect(fromSender.items.map((m) => m.payload)).toEqual([{ n: 2 }]);
        });
    }

    it('delivers binary broadcast payloads to 2.0.0 clients and drops them for 1.0.0 clients', async () => {
        const topic = room();
        const sender = rt.client().channel(topic, { config: { broadcast: { ack: true } } });
        const v2 = rt.client().channel(topic);
        const v1 = rt.client({ vsn: '1.0.0' }).channel(topic);
        const [got2, got1] = [new Inbox<{ event: string; payload: unknown }>(), new Inbox<{ event: string; payload: unknown }>()];
        v2.on('broadcast', { event: '*' }, got2.push);
        v1.on('broadcast', { event: '*' }, got1.push);
        await Promise.all([subscribed(sender), subscribed(v2), subscribed(v1)]);
        expect(await sender.send({ type: 'broadcast', event: 'bytes', payload: new Uint8Array([1, 2, 3]).buffer })).toBe('ok');
        await sender.send({ type: 'broadcast', event: 'json', payload: { after: true } });
        await got2.count(2);
        await got1.count(1);
        expect([...new Uint8Array(got2.items[0]!.payload as ArrayBuffer)]).toEqual([1, 2, 3]);
        expect(got1.items.map((m) => m.event)).toEqual(['json']);
    });

    it('broadcasts sent over HTTP (batch and single endpoint) reach the topic', async () => {
        const topic = room();
        const receiver = rt.client().channel(topic);
        const inbox = new Inbox<{ event: string; payload: unknown; meta?: unknown }>();
        receiver.on('broadcast', { event: '*' }, inbox.push);
        await subscribed(receiver);
        const sender = rt.client().channel(topic);
        expect(await sender.httpSend('single', { via: 'httpSend' })).toEqual({ success: true });
        const batch = await fetch(`${rt.url}/realtime/v1/api/broadcast`, {
            method: 'POST',
            headers: { apikey: rt.keys.publishable, 'content-type': 'application/json' },
            body: JSON.stringify({ messages: [{ topic, event: 'batch', payload: { via: 'batch' }, id: 'm-1' }] }),
        });
        expect(batch.status).toBe(202);
        await inbox.count(2);
        expect(inbox.items).toEqual([
            { type: 'broadcast', event: 'single', payload: { via: 'httpSend' } },
            { type: 'broadcast', event: 'batch', payload: { via: 'batch' }, meta: { id: 'm-1' } },
        ]);
    });

    it('refuses HTTP broadcasts without a valid key, and malformed ones with 422', async () => {
        const url = `${rt.url}/realtime/v1/api/broadcast`;
        const forged = await fetch(url, { method: 'POST', headers: { apikey: 'forged.jwt.value' }, body: '{}' });
        expect(forged.status).toBe(401);
        const bad = await fetch(url, { method: 'POST', headers: { apikey: rt.keys.anon, 'content-type': 'application/json' }, body: '{"messages":[{"topic":""}]}' });
        expect(bad.status).toBe(422);
        expect(await bad.json()).toHaveProperty('errors');
    });

    it('refuses a private channel without a policy, allows it with one, and a private broadcast needs the write policy', async () => {
        const topic = room();
        const user = await db.createUser();
        const token = await accessToken(user.claims());
        const denied = await subscribeOutcome(rt.client({ token }).channel(topic, { config: { private: true } }));
        expect(denied).toEqual({ status: 'CHANNEL_ERROR', message: `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}` });

        await db.query(`create policy "Test users can read ${topic}" on realtime.messages for select to authenticated using ((select realtime.topic()) = '${topic}')`);
        const reader = rt.client({ token }).channel(topic, { config: { private: true } });
        const writer = rt.client({ token }).channel(topic, { config: { private: true, broadcast: { ack: true } } });
        const anon = await subscribeOutcome(rt.client().channel(topic, { config: { private: true } }));
        expect(anon.status).toBe('CHANNEL_ERROR');
        const inbox = new Inbox<{ payload: unknown }>();
        reader.on('broadcast', { event: '*' }, inbox.push);
        await Promise.all([subscribed(reader), subscribed(writer)]);
        // No insert policy yet: the broadcast is dropped and not acknowledged.
        expect(await writer.send({ type: 'broadcast', event: 'e', payload: { n: 1 } }, { timeout: 1500 })).toBe('timed out');

        await db.query(`create policy "Test users can write ${topic}" on realtime.messages for insert to authenticated with check ((select realtime.topic()) = '${topic}')`);
        const writer2 = rt.client({ token }).channel(topic, { config: { private: true, broadcast: { ack: true } } });
        await subscribed(writer2);
        expect(await writer2.send({ type: 'broadcast', event: 'e', payload: { n: 2 } })).toBe('ok');
        await inbox.count(1);
        expect(inbox.items.map((m) => m.payload)).toEqual([{ n: 2 }]);
        // The probes of every check were rolled back.
        expect(await db.query(`select count(*)::int as n from realtime.messages where topic = $1`, [topic])).toEqual([{ n: 0 }]);
    });

    it('public and private channels of the same name do not hear each other', async () => {
        const topic = room();
        await db.query(`create policy "Test users can read ${topic}" on realtime.messages for select to authenticated using ((select realtime.topic()) = '${topic}')`);
        const token = await accessToken((await db.createUser()).claims());
        const privateChannel = rt.client({ token }).channel(topic, { config: { private: true } });
        const publicChannel = rt.client().channel(topic, { config: { broadcast: { ack: true } } });
        const heard = new Inbox<unknown>();
        privateChannel.on('broadcast', { event: '*' }, heard.push);
        await Promise.all([subscribed(privateChannel), subscribed(publicChannel)]);
        await publicChannel.send({ type: 'broadcast', event: 'e', payload: {} });
        await db.query(`select realtime.send('{"from":"db"}', 'e', $1, true)`, [topic]);
        await heard.count(1);
        expect(heard.items).toEqual([{ type: 'broadcast', event: 'e', payload: { from: 'db', id: expect.any(String) }, meta: { id: expect.any(String) } }]);
    });

    it('presence: a join is seen by peers, an untrack and a leave are diffs', async () => {
        const topic = room();
        const watcher = rt.client().channel(topic, { config: { presence: { key: 'watcher' } } });
        const joins = new Inbox<{ key: string; newPresences: Array<Record<string, unknown>> }>();
        const leaves = new Inbox<{ key: string; leftPresences: Array<Record<string, unknown>> }>();
        watcher.on('presence', { event: 'join' }, joins.push).on('presence', { event: 'leave' }, leaves.push);
        await subscribed(watcher);
        const visitor = rt.client().channel(topic, { config: { presence: { key: 'ada' } } });
        await subscribed(visitor);
        expect(await visitor.track({ online_at: 'now' })).toBe('ok');
        await joins.count(1);
        expect(joins.items[0]).toMatchObject({ key: 'ada', newPresences: [{ online_at: 'now', presence_ref: expect.any(String) }] });
        expect(watcher.presenceState()).toMatchObject({ ada: [{ online_at: 'now' }] });
        expect(await visitor.untrack()).toBe('ok');
        await leaves.count(1);
        await visitor.track({ online_at: 'again' });
        await joins.count(2);
        await visitor.unsubscribe();
        await leaves.count(2);
        expect(leaves.items.map((l) => l.key)).toEqual(['ada', 'ada']);
        expect(watcher.presenceState()).toEqual({});
    });

    it('answers heartbeats, refuses unknown topics and a missing topic name, and refuses a foreign API key at the handshake', async () => {
        const ws = new WebSocket(`${rt.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=${rt.keys.anon}&vsn=2.0.0`);
        const replies = new Inbox<unknown[]>();
        ws.on('message', (data) => replies.push(JSON.parse(String(data)) as unknown[]));
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
        ws.send(JSON.stringify(['2', '2', 'realtime:nowhere', 'broadcast', { type: 'broadcast', event: 'x', payload: {} }]));
        ws.send(JSON.stringify(['3', '3', 'realtime:', 'phx_join', {}]));
        await replies.count(3);
        expect(replies.items).toEqual([
            [null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }],
            ['2', '2', 'realtime:nowhere', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }],
            ['3', '3', 'realtime:', 'phx_reply', { status: 'error', response: { reason: 'TopicNameRequired: You must provide a topic name' } }],
        ]);
        ws.close();

        const refused = await new Promise<number>((resolve) => {
            const bad = new WebSocket(`${rt.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=not-a-key&vsn=2.0.0`);
            bad.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
            bad.on('error', () => {});
        });
        expect(refused).toBe(401);
        const missing = await new Promise<number>((resolve) => {
            const bad = new WebSocket(`${rt.url.replace('http', 'ws')}/realtime/v1/websocket?vsn=2.0.0`);
            bad.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
            bad.on('error', () => {});
        });
        expect(missing).toBe(401);
    });
});
