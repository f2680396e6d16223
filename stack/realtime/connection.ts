// One WebSocket of a client, speaking the Phoenix channel protocol as Realtime's
// RealtimeChannel does: heartbeats on `phoenix`, phx_join / phx_leave per topic,
// access_token, broadcast and presence pushes. Frames of a socket are handled one after
// another (a push right after its join waits for the join to finish).
import type { LogEntry } from '../log.js';
import { randomUUID } from 'node:crypto';
import type { Authorizer, Extension } from './authorization.js';
import type { Clock } from './clock.js';
import { RealtimeErrors } from './errors.js';
import { parseChangeSubscription, subscriptionId, type ChangeSubscription } from './filters.js';
import type { Channel, ChannelSocket, Hub } from './hub.js';
import { parseJoinPayload, subTopicOf } from './join.js';
import { decodeInbound, DecodeError, encodeFrame, encodeReply, type BroadcastBody, type Frame, type Vsn } from './serializer.js';
import type { Identity, TokenVerifier } from './tokens.js';

/** The stack logger's `write` (stack/log.ts): one `{level, msg, ...fields}` event. */
export type Logger = (entry: LogEntry) => void;

/** Validates a postgres_changes subscription for a user against the database. */
export interface ChangeValidator {
    /** undefined when the subscription is acceptable, else the error message for the system event. */
    validate(identity: Identity, subscription: ChangeSubscription): Promise<string | undefined>;
    /** Resolves once the change stream decodes (immediately when it already does). */
    ready(): Promise<void>;
}

export interface SocketContext {
    hub: Hub;
    verifyToken: TokenVerifier;
    authorizer: Authorizer;
    changes: ChangeValidator;
    clock: Clock;
    log: Logger;
    /** Channels one socket may join (Realtime's default 100). */
    maxChannels: number;
    /** Largest broadcast payload in bytes. */
    maxPayloadBytes: number;
}

/** Longest wait before re-checking a token's expiry (Realtime re-checks at least every 5 minutes). */
const EXPIRY_RECHECK_MS = 5 * 60_000;

export class Connection implements ChannelSocket {
    private readonly channels = new Map<string, Channel>();
    private readonly expiryTimers = new Map<Channel, () => void>();
    private queue: Promise<void> = Promise.resolve();
    private closed = false;

    constructor(
        readonly vsn: Vsn,
        /** Who the socket's API key stands for (channels without their own token act as this). */
        private readonly socketIdentity: Identity,
        private readonly ctx: SocketContext,
        private readonly transport: { send(data: string | Buffer): void; close(code: number, reason: string): void },
    ) {}

    send(data: string | Buffer): void {
        if (!this.closed) this.transport.send(data);
    }

    /** An incoming WebSocket message. */
    receive(data: Buffer | string, isBinary: boolean): void {
        this.queue = this.queue.then(() => this.handle(data, isBinary)).catch((error: unknown) => {
            this.ctx.log({ level: 'error', msg: 'realtime: message handling failed', error: String((error as Error)?.stack ?? error) });
        });
    }

    /** The socket closed: every channel leaves. */
    close(): void {
        this.closed = true;
        for (const channel of this.channels.values()) this.drop(channel);
        this.channels.clear();
    }

    private async handle(data: Buffer | string, isBinary: boolean): Promise<void> {
        if (this.closed) return;
        let inbound;
        try {
            inbound = decodeInbound(data, isBinary, this.vsn);
        } catch (error) {
            if (!(error instanceof DecodeError)) throw error;
            // Phoenix cannot read the frame: the transport crashes and the socket closes.
            this.transport.close(1003, error.message);
            return;
        }
        if (inbound.kind === 'broadcast') {
            const { push } = inbound;
            const channel = this.joined(push.topic, push.joinRef);
            if (!channel) return this.reply(push, 'error', { reason: RealtimeErrors.unmatchedTopic });
            return this.broadcast(channel, push, push.event, push.body);
        }
        const { frame } = inbound;
        if (frame.topic === 'phoenix') {
            if (frame.event === 'heartbeat') this.reply(frame, 'ok', {});
            return;
        }
        if (frame.event === 'phx_join') return this.join(frame);
        const channel = this.joined(frame.topic, frame.joinRef);
        if (!channel) return this.reply(frame, 'error', { reason: RealtimeErrors.unmatchedTopic });
        const payload = (frame.payload ?? {}) as Record<string, unknown>;
        switch (frame.event) {
            case 'phx_leave':
                this.reply(frame, 'ok', {});
                this.send(encodeFrame({ joinRef: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: 'phx_close', payload: {} }, this.vsn));
                this.channels.delete(channel.topic);
                this.drop(channel);
                return;
            case 'access_token':
                return this.updateToken(channel, payload.access_token);
            case 'broadcast': {
                const event = typeof payload.event === 'string' ? payload.event : '';
                return this.broadcast(channel, frame, event, { encoding: 'json', value: payload.payload }, payload);
            }
            case 'presence':
                return this.presence(channel, frame, payload);
            default:
                return;
        }
    }

    private joined(topic: string, _joinRef: string | null): Channel | undefined {
        return this.channels.get(topic);
    }

    private reply(request: Pick<Frame, 'joinRef' | 'ref' | 'topic'>, status: 'ok' | 'error', response: unknown): void {
        if (request.ref === null) return;
        this.send(encodeReply(request, status, response, this.vsn));
    }

    private push(channel: Channel, event: string, payload: unknown): void {
        this.send(encodeFrame({ joinRef: channel.joinRef, ref: null, topic: channel.topic, event, payload }, this.vsn));
    }

    // -----------------------------------------------------------------------
    // phx_join
    // -----------------------------------------------------------------------

    private async join(frame: Frame): Promise<void> {
        const subTopic = subTopicOf(frame.topic);
        if (subTopic === undefined) return this.reply(frame, 'error', { reason: RealtimeErrors.unmatchedTopic });
        if (subTopic === '') return this.reply(frame, 'error', { reason: RealtimeErrors.topicRequired });
        // Joining a topic again replaces the earlier join (Phoenix closes the old channel).
        const previous = this.channels.get(frame.topic);
        if (previous) {
            this.channels.delete(frame.topic);
            this.drop(previous);
        }
        if (this.channels.size >= this.ctx.maxChannels) return this.reply(frame, 'error', { reason: RealtimeErrors.tooManyChannels });

        const config = parseJoinPayload(frame.payload);
        let identity = this.socketIdentity;
        if (config.accessToken !== undefined && config.accessToken !== this.socketIdentity.token) {
            const checked = await this.ctx.verifyToken(config.accessToken);
            if (!checked.ok) return this.reply(frame, 'error', { reason: checked.message });
            identity = checked.identity;
        } else {
            const now = Math.floor(this.ctx.clock.now() / 1000);
            if (identity.exp <= now) return this.reply(frame, 'error', { reason: RealtimeErrors.tokenExpired(now - identity.exp) });
        }
        if (config.replay && !config.private) return this.reply(frame, 'error', { reason: RealtimeErrors.replayPublic });

        const read = config.private ? await this.ctx.authorizer.read(identity, subTopic) : { broadcast: true, presence: true };
        if (!read.broadcast && !read.presence) return this.reply(frame, 'error', { reason: RealtimeErrors.unauthorizedRead(subTopic) });

        const accepted: Array<{ id: number; subscription: ChangeSubscription }> = [];
        const errors: string[] = [];
        for (const entry of config.postgresChanges) {
            const parsed = parseChangeSubscription(entry);
            if (!parsed.ok) {
                errors.push(parsed.message);
                continue;
            }
            const problem = await this.ctx.changes.validate(identity, parsed.subscription);
            if (problem) errors.push(problem);
            accepted.push({ id: subscriptionId(entry), subscription: parsed.subscription });
        }
        if (this.closed) return;

        const channel: Channel = {
            id: randomUUID(),
            socket: this,
            topic: frame.topic,
            subTopic,
            joinRef: frame.joinRef ?? frame.ref,
            private: config.private,
            self: config.broadcastSelf,
            ack: config.broadcastAck,
            presenceKey: config.presenceKey ?? randomUUID(),
            presenceEnabled: config.presenceEnabled,
            identity,
            read,
            write: new Map(),
            // A subscription whose parameters the database refused receives nothing.
            changes: errors.length ? [] : accepted,
        };
        this.channels.set(frame.topic, channel);
        this.ctx.hub.add(channel);
        // Every entry is echoed with its id, accepted or not (supabase-js matches them by position).
        this.reply(frame, 'ok', { postgres_changes: config.postgresChanges.map((entry) => ({ ...entry, id: subscriptionId(entry) })) });
        if (channel.presenceEnabled && channel.read.presence) this.push(channel, 'presence_state', this.ctx.hub.presenceState(channel));
        if (config.postgresChanges.length) {
            const status = errors.length
                ? { extension: 'postgres_changes', status: 'error', message: errors[0], channel: subTopic }
                : { extension: 'postgres_changes', status: 'ok', message: RealtimeErrors.subscribedToPostgres, channel: subTopic };
            this.push(channel, 'system', status);
        }
        if (config.replicationReady) {
            void this.ctx.changes.ready().then(() => {
                if (this.channels.get(channel.topic) === channel) {
                    this.push(channel, 'system', { extension: 'system', status: 'ok', message: RealtimeErrors.replicationReady, channel: subTopic });
                }
            });
        }
        this.scheduleExpiryCheck(channel);
    }

    // -----------------------------------------------------------------------
    // Tokens
    // -----------------------------------------------------------------------

    private scheduleExpiryCheck(channel: Channel): void {
        this.expiryTimers.get(channel)?.();
        const msLeft = channel.identity.exp * 1000 - this.ctx.clock.now();
        const cancel = this.ctx.clock.schedule(Math.max(0, Math.min(EXPIRY_RECHECK_MS, msLeft)), () => {
            this.expiryTimers.delete(channel);
            if (this.channels.get(channel.topic) !== channel) return;
            const now = Math.floor(this.ctx.clock.now() / 1000);
            if (channel.identity.exp <= now) this.shutdownChannel(channel, `Token has expired ${now - channel.identity.exp} seconds ago`);
            else this.scheduleExpiryCheck(channel);
        });
        this.expiryTimers.set(channel, cancel);
    }

    private async updateToken(channel: Channel, token: unknown): Promise<void> {
        // No reply, as in Realtime; a missing, unchanged or opaque token is ignored.
        if (typeof token !== 'string' || token === '' || token.startsWith('sb_') || token === channel.identity.token) return;
        const checked = await this.ctx.verifyToken(token);
        if (this.channels.get(channel.topic) !== channel) return;
        if (!checked.ok) {
            return this.shutdownChannel(channel, checked.reason === 'expired' ? checked.message.replace(/^InvalidJWTToken: /, '') : checked.message);
        }
        if (channel.private) {
            const read = await this.ctx.authorizer.read(checked.identity, channel.subTopic);
            if (this.channels.get(channel.topic) !== channel) return;
            if (!read.broadcast && !read.presence) return this.shutdownChannel(channel, RealtimeErrors.noLongerAuthorized(channel.subTopic));
            channel.read = read;
            channel.write.clear();
        }
        channel.identity = checked.identity;
        this.scheduleExpiryCheck(channel);
    }

    /** Ends a channel from the server side: a `system` error, then `phx_close`. */
    private shutdownChannel(channel: Channel, message: string): void {
        this.push(channel, 'system', { extension: 'system', status: 'error', message, channel: channel.subTopic });
        this.send(encodeFrame({ joinRef: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: 'phx_close', payload: {} }, this.vsn));
        this.channels.delete(channel.topic);
        this.drop(channel);
    }

    private drop(channel: Channel): void {
        this.expiryTimers.get(channel)?.();
        this.expiryTimers.delete(channel);
        this.ctx.hub.remove(channel);
    }

    // -----------------------------------------------------------------------
    // Broadcast and presence
    // -----------------------------------------------------------------------

    private async mayWrite(channel: Channel, extension: Extension): Promise<boolean> {
        if (!channel.private) return true;
        let allowed = channel.write.get(extension);
        if (allowed === undefined) {
            allowed = await this.ctx.authorizer.write(channel.identity, channel.subTopic, extension);
            channel.write.set(extension, allowed);
        }
        return allowed;
    }

    private async broadcast(
        channel: Channel,
        request: Pick<Frame, 'joinRef' | 'ref' | 'topic'>,
        event: string,
        body: BroadcastBody,
        json?: Record<string, unknown>,
    ): Promise<void> {
        const size = body.encoding === 'binary' ? body.bytes.length : Buffer.byteLength(JSON.stringify(json ?? body.value ?? null));
        if (size > this.ctx.maxPayloadBytes) {
            if (channel.ack) this.reply(request, 'error', { reason: RealtimeErrors.payloadTooLarge });
            return;
        }
        // A private channel's sender needs the write policy; denied → dropped without ack.
        if (!(await this.mayWrite(channel, 'broadcast'))) return;
        this.ctx.hub.broadcast({ subTopic: channel.subTopic, private: channel.private, event, body, from: channel });
        if (channel.ack) this.reply(request, 'ok', {});
    }

    private async presence(channel: Channel, frame: Frame, payload: Record<string, unknown>): Promise<void> {
        const event = typeof payload.event === 'string' ? payload.event.toLowerCase() : '';
        if (event === 'track') {
            const meta = payload.payload;
            if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return this.reply(frame, 'error', { reason: RealtimeErrors.presenceNotMap });
            if (!(await this.mayWrite(channel, 'presence'))) return this.reply(frame, 'error', { reason: RealtimeErrors.unauthorizedRead(channel.subTopic) });
            this.ctx.hub.track(channel, meta as Record<string, unknown>);
            return this.reply(frame, 'ok', {});
        }
        if (event === 'untrack') {
            this.ctx.hub.untrack(channel);
            return this.reply(frame, 'ok', {});
        }
        return this.reply(frame, 'error', { reason: `unknown presence event ${event}` });
    }
}
