// The stack's control endpoint: a loopback HTTP server on a free port through which
// `npm run status` (another process) asks the running stack for a live check. Its URL and
// a random token are in <workdir>/.local/stack.json (mode 0600): only someone who can read
// the project's local files can ask. It lives apart from the API gateway so that it still
// answers when the gateway does not, and adds nothing to the public API.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { listen, type Listening } from '../http.js';
import type { Logger } from '../log.js';

export interface ControlServer {
    url: string;
    token: string;
    close(): Promise<void>;
}

/** Serves `GET /status` → `status()` as JSON to callers presenting the token. */
export async function serveControl(status: () => Promise<unknown>, log: Logger): Promise<ControlServer> {
    const token = randomBytes(24).toString('base64url');
    const expected = Buffer.from(`Bearer ${token}`);
    const server: Listening = await listen(
        async (request) => {
            const given = Buffer.from(request.headers.get('authorization') ?? '');
            if (given.length !== expected.length || !timingSafeEqual(given, expected)) return new Response('{"message":"Unauthorized"}', { status: 401 });
            if (new URL(request.url).pathname !== '/status' || request.method !== 'GET') return new Response('{"message":"Not Found"}', { status: 404 });
            return new Response(JSON.stringify(await status()), { headers: { 'content-type': 'application/json' } });
        },
        { port: 0, log },
    );
    return { url: server.url, token, close: () => server.close() };
}

/** Asks a running stack for its live status; rejects when it does not answer within `timeoutMs`. */
export async function fetchControlStatus<T>(access: { url: string; token: string }, timeoutMs = 10_000): Promise<T> {
    const response = await fetch(`${access.url}/status`, { headers: { authorization: `Bearer ${access.token}` }, signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`the control endpoint answered ${response.status}`);
    return (await response.json()) as T;
}
