// The one HTTP contract of the local stack: every service is a fetch-style handler
// (web Request → Response), testable in-process; `listen` puts one on a Node HTTP port.
import http from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { createLogger, type Logger } from './log.js';

export interface RequestInfo {
    /** Client address as the gateway saw it. */
    remoteAddr: string;
}

export type FetchHandler = (request: Request, info: RequestInfo) => Promise<Response>;

/** Takes over an HTTP upgrade request (WebSocket) and its socket. */
export type UpgradeHandler = (request: http.IncomingMessage, socket: Duplex, head: Buffer, info: RequestInfo) => void;

export interface Listening {
    url: string;
    port: number;
    close(): Promise<void>;
}

/** Largest request body any service accepts (PostgREST and GoTrue are far below this). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ListenOptions {
    port: number;
    host?: string;
    /** Upgrade requests (WebSockets) go here; refused without one. */
    upgrade?: UpgradeHandler;
    log?: Logger;
    /**
     * Paths whose request bodies are handed over as a stream, without the MAX_BODY_BYTES cap
     * (uploads: the service enforces its own limits while it reads). Others are buffered.
     */
    streamBodies?: (pathname: string) => boolean;
}

/** Serves `handler` on host:port (port 0 = any free port). */
export function listen(handler: FetchHandler, { port, host = '127.0.0.1', upgrade, log = createLogger('http'), streamBodies }: ListenOptions): Promise<Listening> {
    const server = http.createServer((req, res) => void serveOne(handler, req, res, log, streamBodies));
    server.keepAliveTimeout = 5_000;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (upgrade) upgrade(req, socket, head, { remoteAddr: req.socket.remoteAddress ?? '127.0.0.1' });
        else socket.destroy();
    });
    return new Promise((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
            reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : error),
        );
        server.listen(port, host, () => {
            const address = server.address();
            const actual = typeof address === 'object' && address ? address.port : port;
            resolve({
                url: `http://${host}:${actual}`,
                port: actual,
                close: () =>
                    new Promise<void>((done) => {
                        server.close(() => done());
                        server.closeAllConnections();
                    }),
            });
        });
    });
}

async function serveOne(
    handler: FetchHandler,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    log: Logger,
    streamBodies?: (pathname: string) => boolean,
): Promise<void> {
    try {
        const streamed = streamBodies?.(new URL(req.url ?? '/', 'http://127.0.0.1').pathname) ?? false;
        const request = streamed ? toStreamingRequest(req) : await toRequest(req);
        const response = await handler(request, { remoteAddr: req.socket.remoteAddress ?? '127.0.0.1' });
        // A streamed body the handler left unread (an early error) still occupies the
        // connection: answer, then close it rather than parse the rest as the next request.
        await writeResponse(res, response, streamed && !req.complete);
    } catch (error) {
        if (error instanceof BodyTooLarge) {
            writeJson(res, 413, { code: 'PAYLOAD_TOO_LARGE', message: `request body exceeds ${MAX_BODY_BYTES} bytes` });
        } else if (!res.headersSent) {
            writeJson(res, 500, { code: 'INTERNAL_ERROR', message: 'internal error' });
            log.error('unhandled error in handler', { error });
        } else {
            res.destroy();
        }
    }
}

class BodyTooLarge extends Error {}

function headersOf(req: http.IncomingMessage): Headers {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    return headers;
}

/** The body stays a stream: a client that drops the connection errors it mid-read. */
function toStreamingRequest(req: http.IncomingMessage): Request {
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? undefined : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
    return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method, headers: headersOf(req), body, duplex: 'half' } as RequestInit);
}

async function toRequest(req: http.IncomingMessage): Promise<Request> {
    const headers = headersOf(req);
    const method = req.method ?? 'GET';
    let body: Buffer | undefined;
    if (method !== 'GET' && method !== 'HEAD') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
            size += (chunk as Buffer).length;
            if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
            chunks.push(chunk as Buffer);
        }
        body = Buffer.concat(chunks);
    }
    return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method, headers, body });
}

async function writeResponse(res: http.ServerResponse, response: Response, closeConnection = false): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    response.headers.forEach((value, key) => {
        if (key === 'set-cookie') return;
        headers[key] = value;
    });
    if (closeConnection) headers.connection = 'close';
    const cookies = response.headers.getSetCookie();
    if (cookies.length) headers['set-cookie'] = cookies;
    if (!response.body) {
        res.writeHead(response.status, response.statusText, headers);
        res.end();
        return;
    }
    // Most bodies are one chunk (a string or a buffer) that is there at once: it leaves
    // with the headers in one write, with a Content-Length. A body still being produced
    // after one turn of the event loop is streamed as it comes.
    const reader = response.body.getReader();
    const first = await reader.read();
    const pending = first.done ? undefined : reader.read();
    const second = pending && (await Promise.race([pending, new Promise<'later'>((resolve) => setImmediate(() => resolve('later')))]));
    if (first.done || (second !== 'later' && second?.done)) {
        const body = first.done ? undefined : first.value;
        const bodyless = response.status === 204 || response.status === 304 || response.status < 200;
        if (!bodyless && !('content-length' in headers)) headers['content-length'] = String(body?.byteLength ?? 0);
        res.writeHead(response.status, response.statusText, headers);
        res.end(body);
        return;
    }
    res.writeHead(response.status, response.statusText, headers);
    let next = pending;
    const rest = new ReadableStream<Uint8Array>({
        start(controller) {
            controller.enqueue(first.value);
        },
        async pull(controller) {
            const chunk = await (next ?? reader.read());
            next = undefined;
            if (chunk.done) controller.close();
            else controller.enqueue(chunk.value);
        },
        cancel: (reason) => reader.cancel(reason),
    });
    await new Promise<void>((resolve, reject) => {
        Readable.fromWeb(rest as import('node:stream/web').ReadableStream).pipe(res).on('finish', resolve).on('error', reject);
    });
}

function writeJson(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
}
