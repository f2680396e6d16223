// stack/http.ts puts a fetch handler on a port: a body that is there at once leaves in one
// write with a Content-Length; a body still being produced is streamed, chunk by chunk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type FetchHandler, type Listening } from '../../stack/http.js';

let route: FetchHandler = async () => new Response(null);
let server: Listening;

beforeAll(async () => {
    server = await listen((request, info) => route(request, info), { port: 0 });
});

afterAll(async () => {
    await server.close();
});

describe('listen', () => {
    it('sends a whole body with its Content-Length', async () => {
        const text = JSON.stringify({ hello: 'wörld', list: Array.from({ length: 50 }, (_, i) => i) });
        route = async () => new Response(text, { status: 200, headers: { 'Content-Type': 'application/json' } });
        const response = await fetch(server.url + '/x');
        expect(response.status).toBe(200);
        expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
        expect(await response.text()).toBe(text);
    });

    it('sends an empty body and a body-less status', async () => {
        route = async () => new Response('', { status: 200 });
        const empty = await fetch(server.url + '/x');
        expect(await empty.text()).toBe('');
        route = async () => new Response(null, { status: 204 });
        const none = await fetch(server.url + '/x');
        expect(none.status).toBe(204);
        expect(await none.text()).toBe('');
    });

    it('streams a body as it is produced: the first chunk arrives before the last is made', async () => {
        let releaseRest!: () => void;
        const restMayFollow = new Promise<void>((resolve) => (releaseRest = resolve));
        route = async () =>
            new Response(
                new ReadableStream<Uint8Array>({
                    async start(controller) {
                        controller.enqueue(new TextEncoder().encode('first;'));
                        await restMayFollow;
                        controller.enqueue(new TextEncoder().encode('second;'));
                        controller.enqueue(new TextEncoder().encode('third'));
                        controller.close();
                    },
                }),
                { status: 200, headers: { 'Content-Type': 'text/plain' } },
            );
        const response = await fetch(server.url + '/x');
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        const first = await reader.read();
        expect(decoder.decode(first.value)).toBe('first;');
        releaseRest();
        let rest = '';
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value, { stream: true });
        expect(rest).toBe('second;third');
    });
});
