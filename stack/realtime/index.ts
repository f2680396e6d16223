// Supabase-Realtime-compatible /realtime/v1 service: the WebSocket endpoint
// (`/websocket`, Phoenix channels over `ws`), the HTTP broadcast API, and the change
// stream that feeds postgres_changes and broadcast-from-the-database. Generic: it knows
// the realtime schema and publications of the platform, nothing of the project's tables.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createPgPool } from '../db/connect.js';
import type { FetchHandler } from '../http.js';
import type { JwtKeys } from '../jwt.js';
import { createLogger } from '../log.js';
import { createAuthorizer } from './authorization.js';
import { createBroadcastApi } from './broadcast-api.js';
import { ChangeDispatcher } from './changes.js';
import { ChangeStream, slotNameFor, type ChangeStreamStats } from './change-stream.js';
import { systemClock, type Clock } from './clock.js';
import { Connection, type Logger, type SocketContext } from './connection.js';
import { RealtimeErrors } from './errors.js';
import { Hub } from './hub.js';
import { VSNS, type Vsn } from './serializer.js';
import { createTokenVerifier } from './tokens.js';

export interface RealtimeServiceOptions {
    /** Superuser URL of the project database. */
    dbUrl: string;
    jwt: JwtKeys;
    clock?: Clock;
    log?: Logger;
    /** Wait between polls of the change stream that found nothing (default 25 ms). */
    pollIntervalMs?: number;
    /** Replication slot name (default derived from the database name). */
    slotName?: string;
}

/** Handles an HTTP upgrade whose URL has the service's prefix stripped. */
export type UpgradeHandler = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface RealtimeService {
    /** HTTP API (/api/broadcast…). */
    handler: FetchHandler;
    /** WebSocket upgrades of /websocket. */
    upgrade: UpgradeHandler;
    stats(): { sockets: number; channels: number; stream: ChangeStreamStats; deliveries: number };
    /** Resolves once the change stream decodes. */
    ready: Promise<void>;
    close(): Promise<void>;
}

/** Idle sockets (no frame, not even a heartbeat) are closed after this, as Phoenix does. */
const IDLE_TIMEOUT_MS = 60_000;
const MAX_FRAME_BYTES = 5 * 1024 * 1024;
const MAX_PAYLOAD_BYTES = 3000 * 1024;
const MESSAGE_RETENTION_HOURS = 72;

export async function createRealtimeService(options: RealtimeServiceOptions): Promise<RealtimeService> {
    const log: Logger = options.log ?? createLogger('realtime').write;
    const clock = options.clock ?? systemClock;
    const pool = createPgPool({ connectionString: options.dbUrl, max: 8, idleTimeoutMillis: 30_000, application_name: 'tillbase realtime' });
    const hub = new Hub();
    const verifyToken = createTokenVerifier(options.jwt, clock);
    const authorizer = createAuthorizer(pool, log);
    const dispatcher = new ChangeDispatcher(pool, hub, log);
    const database = decodeURIComponent(new URL(options.dbUrl).pathname.slice(1)) || 'postgres';
    const stream = new ChangeStream({
        dbUrl: options.dbUrl,
        slotName: options.slotName ?? slotNameFor(database),
        pollIntervalMs: options.pollIntervalMs ?? 25,
        maxChangesPerPoll: 2000,
        onTransactions: (transactions) => dispatcher.dispatch(transactions),
        log,
    });
    try {
        await stream.start();
    } catch (error) {
        await pool.end();
        throw error;
    }

    // Broadcasts from the database are kept 72 hours, as Supabase keeps its partitions.
    const pruneMessages = () =>
        pool
            .query(`delete from realtime.messages where inserted_at < now() - make_interval(hours => $1)`, [MESSAGE_RETENTION_HOURS])
            .catch((error: Error) => log({ level: 'warn', msg: 'realtime: pruning realtime.messages failed', error: error.message }));
    void pruneMessages();
    const pruneTimer = setInterval(() => void pruneMessages(), 60 * 60_000);
    pruneTimer.unref();

    const ctx: SocketContext = {
        hub,
        verifyToken,
        authorizer,
        changes: { validate: (identity, subscription) => dispatcher.validate(identity, subscription), ready: () => stream.ready },
        clock,
        log,
        maxChannels: 100,
        maxPayloadBytes: MAX_PAYLOAD_BYTES,
    };

    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    const connections = new Set<Connection>();

    const refuse = (socket: Duplex, status: number, error: string) => {
        const body = JSON.stringify({ error });
        socket.end(
            `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\n` +
                `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
    };

    const upgrade: UpgradeHandler = (request, socket, head) => {
        socket.on('error', () => {});
        void (async () => {
            const url = new URL(request.url ?? '/', 'http://realtime');
            if (url.pathname !== '/websocket' && url.pathname !== '/socket/websocket') return refuse(socket, 404, 'Not Found');
            const vsn = (url.searchParams.get('vsn') ?? '1.0.0') as Vsn;
            if (!VSNS.includes(vsn)) return refuse(socket, 403, `unsupported serializer version ${vsn}`);
            const headerKey = request.headers['x-api-key'];
            const token = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? url.searchParams.get('apikey') ?? '';
            if (!token) return refuse(socket, 401, RealtimeErrors.apiKeyMissing);
            const checked = await verifyToken(token);
            if (!checked.ok) {
                const message =
                    checked.reason === 'expired'
                        ? RealtimeErrors.handshakeExpired
                        : checked.reason === 'claims'
                          ? 'Fields `role` and `exp` are required in JWT'
                          : checked.reason === 'malformed'
                            ? 'The token provided is not a valid JWT'
                            : 'Failed to validate JWT signature';
                return refuse(socket, 401, message);
            }
            wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
                const connection = new Connection(vsn, checked.identity, ctx, {
                    send: (data) => {
                        if (ws.readyState === ws.OPEN) ws.send(data);
                    },
                    close: (code, reason) => ws.close(code, reason),
                });
                connections.add(connection);
                let lastSeen = Date.now();
                const idle = setInterval(() => {
                    if (Date.now() - lastSeen > IDLE_TIMEOUT_MS) ws.terminate();
                }, 5_000);
                idle.unref();
                ws.on('message', (data, isBinary) => {
                    lastSeen = Date.now();
                    connection.receive(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer), isBinary);
                });
                ws.on('close', () => {
                    clearInterval(idle);
                    connections.delete(connection);
                    connection.close();
                });
                ws.on('error', () => ws.terminate());
            });
        })().catch((error: unknown) => {
            log({ level: 'error', msg: 'realtime: upgrade failed', error: String(error) });
            socket.destroy();
        });
    };

    const broadcastApi = createBroadcastApi({ hub, verifyToken, authorizer, maxPayloadBytes: MAX_PAYLOAD_BYTES });
    const handler: FetchHandler = async (request) => {
        const url = new URL(request.url);
        if (url.pathname === '/websocket' || url.pathname === '/socket/websocket') {
            return new Response(JSON.stringify({ error: 'WebSocket upgrade required' }), { status: 400, headers: { 'content-type': 'application/json' } });
        }
        return broadcastApi(request);
    };

    return {
        handler,
        upgrade,
        ready: stream.ready,
        stats: () => ({ sockets: connections.size, channels: hub.channelCount, stream: { ...stream.stats }, deliveries: dispatcher.stats.deliveries }),
        async close() {
            clearInterval(pruneTimer);
            // Like a stopped Realtime container: the sockets drop, clients reconnect and rejoin
            // when the service is back (a phx_close would close their channels for good).
            for (const ws of wss.clients) ws.terminate();
            wss.close();
            await stream.stop();
            await pool.end();
        },
    };
}
