// Realtime's HTTP broadcast API (paths after /realtime/v1):
//   POST /api/broadcast                          {messages:[{topic, event, payload, private?, id?}]} → 202
//   POST /api/broadcast/<topic>/events/<event>   JSON or octet-stream body, ?private=true    → 202
// The caller is the JWT of `Authorization: Bearer` or else of `apikey`. Private messages
// need the write policy of realtime.messages for the topic; unauthorised ones are
// skipped (batch) or answered 403 (single).
import { z } from 'zod';
import type { Authorizer } from './authorization.js';
import { RealtimeErrors } from './errors.js';
import type { Hub } from './hub.js';
import type { BroadcastBody } from './serializer.js';
import type { Identity, TokenVerifier } from './tokens.js';

export interface BroadcastApiDeps {
    hub: Hub;
    verifyToken: TokenVerifier;
    authorizer: Authorizer;
    maxPayloadBytes: number;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
const accepted = () => new Response(null, { status: 202 });

const BatchBody = z.object({
    messages: z
        .array(
            z.object({
                topic: z.string().min(1),
                event: z.string().min(1),
                payload: z.record(z.string(), z.unknown()),
                private: z.boolean().optional(),
                id: z.string().optional(),
            }),
        )
        .min(1),
});

export function createBroadcastApi(deps: BroadcastApiDeps): (request: Request) => Promise<Response> {
    const identify = async (request: Request): Promise<Identity | undefined> => {
        const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        const token = bearer && !bearer.startsWith('sb_') ? bearer : (request.headers.get('apikey') ?? undefined);
        if (!token) return undefined;
        const checked = await deps.verifyToken(token);
        return checked.ok ? checked.identity : undefined;
    };

    return async (request) => {
        const url = new URL(request.url);
        const single = /^\/api\/broadcast\/([^/]+)\/events\/([^/]+)$/.exec(url.pathname);
        if (url.pathname !== '/api/broadcast' && !single) return json(404, { message: 'Not Found' });
        if (request.method !== 'POST') return json(405, { message: 'Method Not Allowed' });
        const identity = await identify(request);
        if (!identity) return json(401, { message: RealtimeErrors.httpUnauthorized });

        if (single) {
            let topic: string;
            let event: string;
            try {
                topic = decodeURIComponent(single[1]!);
                event = decodeURIComponent(single[2]!);
            } catch {
                return json(422, { errors: { path: ['is invalid'] } });
            }
            const isPrivate = url.searchParams.get('private') === 'true';
            const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
            const raw = Buffer.from(await request.arrayBuffer());
            if (raw.length > deps.maxPayloadBytes) return json(413, { message: RealtimeErrors.payloadTooLarge });
            let body: BroadcastBody;
            if (type === 'application/json') {
                try {
                    body = { encoding: 'json', value: JSON.parse(raw.toString('utf8')) };
                } catch {
                    return json(422, { errors: { payload: ['is invalid JSON'] } });
                }
            } else if (type === 'application/octet-stream') {
                body = { encoding: 'binary', bytes: raw };
            } else {
                return json(415, { message: 'Unsupported Media Type' });
            }
            if (isPrivate && !(await deps.authorizer.write(identity, topic, 'broadcast'))) return json(403, { message: RealtimeErrors.httpUnauthorized });
            deps.hub.broadcast({ subTopic: topic, private: isPrivate, event, body });
            return accepted();
        }

        let parsed;
        try {
            parsed = BatchBody.safeParse(JSON.parse(await request.text()));
        } catch {
            return json(422, { errors: { messages: ['is invalid JSON'] } });
        }
        if (!parsed.success) {
            const errors: Record<string, string[]> = {};
            for (const issue of parsed.error.issues) (errors[issue.path.join('.') || 'messages'] ??= []).push(issue.message);
            return json(422, { errors });
        }
        for (const message of parsed.data.messages) {
            const isPrivate = message.private === true;
            if (Buffer.byteLength(JSON.stringify(message.payload)) > deps.maxPayloadBytes) continue;
            if (isPrivate && !(await deps.authorizer.write(identity, message.topic, 'broadcast'))) continue;
            deps.hub.broadcast({
                subTopic: message.topic,
                private: isPrivate,
                event: message.event,
                body: { encoding: 'json', value: message.payload },
                meta: message.id ? { id: message.id } : undefined,
            });
        }
        return accepted();
    };
}
