// A fetch that connects from a chosen loopback address (127.0.0.2, 127.0.0.3, …), so tests
// can play clients on different IPs against a local server: the server sees that address
// as the socket's remote address. Enough of fetch for supabase-js (`global.fetch`) and raw
// requests: method, headers, string or byte bodies, redirect: 'manual' (never followed).
import http from 'node:http';

export type Fetch = typeof fetch;

async function bodyBytes(body: RequestInit['body']): Promise<Buffer | undefined> {
    if (body === undefined || body === null) return undefined;
    if (typeof body === 'string') return Buffer.from(body);
    return Buffer.from(await new Response(body).arrayBuffer());
}

/** fetch from `localAddress` (must be in 127.0.0.0/8). */
export function fetchFrom(localAddress: string): Fetch {
    if (!/^127\.\d+\.\d+\.\d+$/.test(localAddress)) throw new Error(`only loopback source addresses: ${localAddress}`);
    return (async (input: string | URL | Request, init: RequestInit = {}) => {
        const request = new Request(input, init);
        const url = new URL(request.url);
        const body = await bodyBytes(init.body ?? (request.body ? await request.arrayBuffer() : undefined));
        const headers: Record<string, string> = {};
        request.headers.forEach((value, key) => {
            headers[key] = value;
        });
        if (body) headers['content-length'] = String(body.length);
        return new Promise<Response>((resolve, reject) => {
            const outgoing = http.request(
                { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: request.method, headers, localAddress },
                (incoming) => {
                    const chunks: Buffer[] = [];
                    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
                    incoming.on('error', reject);
                    incoming.on('end', () => {
                        const responseHeaders = new Headers();
                        for (const [key, value] of Object.entries(incoming.headers)) {
                            if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
                            else if (value !== undefined) responseHeaders.set(key, value);
                        }
                        const status = incoming.statusCode ?? 500;
                        const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
                        resolve(new Response(payload, { status, headers: responseHeaders }));
                    });
                },
            );
            outgoing.on('error', reject);
            outgoing.end(body);
        });
    }) as Fetch;
}
