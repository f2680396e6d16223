// Every joined channel of every socket, indexed by topic and privacy (a public and a
// private channel of the same name never see each other's messages), with the presence
// of each topic. Fan-out happens here; who may receive what was decided at join.
import type { ReadAccess } from './authorization.js';
import type { ChangeSubscription } from './filters.js';
import { PresenceTopic, type PresenceDiff } from './presence.js';
import { encodeBroadcast, encodeFrame, type BroadcastBody, type Vsn } from './serializer.js';
import type { Identity } from './tokens.js';

/** One joined channel: what its socket asked for and what it may see. */
export interface Channel {
    /** Unique id (presence owner). */
    id: string;
    socket: ChannelSocket;
    topic: string;
    subTopic: string;
    joinRef: string | null;
    private: boolean;
    self: boolean;
    ack: boolean;
    presenceKey: string;
    presenceEnabled: boolean;
    identity: Identity;
    /** For public channels both true. */
    read: ReadAccess;
    /** Write permission per extension, checked on first use (private channels). */
    write: Map<'broadcast' | 'presence', boolean>;
    changes: Array<{ id: number; subscription: ChangeSubscription }>;
}

/** What the hub needs of a socket. */
export interface ChannelSocket {
    vsn: Vsn;
    send(data: string | Buffer): void;
}

export interface Broadcast {
    subTopic: string;
    private: boolean;
    event: string;
    body: BroadcastBody;
    meta?: Record<string, unknown>;
    /** The sending channel (excluded unless it asked for `self`). */
    from?: Channel;
}

const topicKey = (subTopic: string, isPrivate: boolean) => `${isPrivate ? 'private' : 'public'}:${subTopic}`;

export class Hub {
    private readonly topics = new Map<string, Set<Channel>>();
    private readonly presence = new Map<string, PresenceTopic>();
    private readonly all = new Set<Channel>();

    add(channel: Channel): void {
        const key = topicKey(channel.subTopic, channel.private);
        let set = this.topics.get(key);
        if (!set) this.topics.set(key, (set = new Set()));
        set.add(channel);
        this.all.add(channel);
    }

    /** Removes the channel; its presence leaves (and the peers are told). */
    remove(channel: Channel): void {
        const key = topicKey(channel.subTopic, channel.private);
        this.topics.get(key)?.delete(channel);
        if (this.topics.get(key)?.size === 0) this.topics.delete(key);
        this.all.delete(channel);
        this.untrack(channel);
    }

    get channelCount(): number {
        return this.all.size;
    }

    /** Channels with postgres_changes subscriptions. */
    changeSubscribers(): Channel[] {
        return [...this.all].filter((c) => c.changes.length > 0);
    }

    /** Channels joined with `replication_ready`, told once the change stream is ready. */
    channels(): Channel[] {
        return [...this.all];
    }

    broadcast(message: Broadcast): number {
        const peers = this.topics.get(topicKey(message.subTopic, message.private));
        if (!peers) return 0;
        const encoded = new Map<Vsn, string | Buffer | undefined>();
        let delivered = 0;
        for (const peer of peers) {
            if (peer === message.from && !peer.self) continue;
            if (!peer.read.broadcast) continue;
            if (!encoded.has(peer.socket.vsn)) {
                encoded.set(
                    peer.socket.vsn,
                    encodeBroadcast({ topic: peer.topic, event: message.event, body: message.body, meta: message.meta }, peer.socket.vsn),
                );
            }
            const data = encoded.get(peer.socket.vsn);
            if (data !== undefined) {
                peer.socket.send(data);
                delivered++;
            }
        }
        return delivered;
    }

    track(channel: Channel, payload: Record<string, unknown>): void {
        this.fanOutPresence(channel, this.presenceOf(channel).track(channel.id, channel.presenceKey, payload));
    }

    untrack(channel: Channel): void {
        const key = topicKey(channel.subTopic, channel.private);
        const topic = this.presence.get(key);
        const diff = topic?.untrack(channel.id);
        if (topic && topic.size === 0) this.presence.delete(key);
        if (diff) this.fanOutPresence(channel, diff);
    }

    presenceState(channel: Channel): Record<string, unknown> {
        return this.presence.get(topicKey(channel.subTopic, channel.private))?.state() ?? {};
    }

    private presenceOf(channel: Channel): PresenceTopic {
        const key = topicKey(channel.subTopic, channel.private);
        let topic = this.presence.get(key);
        if (!topic) this.presence.set(key, (topic = new PresenceTopic()));
        return topic;
    }

    private fanOutPresence(from: Channel, diff: PresenceDiff): void {
        for (const peer of this.topics.get(topicKey(from.subTopic, from.private)) ?? []) {
            if (!peer.presenceEnabled || !peer.read.presence) continue;
            peer.socket.send(encodeFrame({ joinRef: null, ref: null, topic: peer.topic, event: 'presence_diff', payload: diff }, peer.socket.vsn));
        }
    }
}
