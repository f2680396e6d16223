// The phx_join payload of a Realtime channel, read leniently as Realtime does (fields
// of the wrong type are ignored, not errors). Pure.
import { z } from 'zod';

export const TOPIC_PREFIX = 'realtime:';

export interface JoinConfig {
    broadcastSelf: boolean;
    broadcastAck: boolean;
    replicationReady: boolean;
    replay: boolean;
    presenceKey: string | undefined;
    presenceEnabled: boolean;
    private: boolean;
    postgresChanges: Record<string, unknown>[];
    /** The token sent with the join, unless absent or an opaque `sb_…` key (then the socket's applies). */
    accessToken: string | undefined;
}

const lenient = <T extends z.ZodTypeAny>(schema: T) => schema.optional().catch(undefined);

const JoinPayload = z
    .object({
        config: lenient(
            z
                .object({
                    broadcast: lenient(
                        z
                            .object({
                                self: lenient(z.boolean()),
                                ack: lenient(z.boolean()),
                                replication_ready: lenient(z.boolean()),
                                replay: lenient(z.record(z.string(), z.unknown())),
                            })
                            .passthrough(),
                    ),
                    presence: lenient(z.object({ key: lenient(z.union([z.string(), z.number()])), enabled: lenient(z.boolean()) }).passthrough()),
                    postgres_changes: lenient(z.array(z.unknown())),
                    private: lenient(z.boolean()),
                })
                .passthrough(),
        ),
        access_token: lenient(z.string()),
    })
    .passthrough()
    .catch({});

export function parseJoinPayload(payload: unknown): JoinConfig {
    const parsed = JoinPayload.parse(payload ?? {});
    const config = parsed.config ?? {};
    const key = config.presence?.key;
    const token = parsed.access_token;
    return {
        broadcastSelf: config.broadcast?.self ?? false,
        broadcastAck: config.broadcast?.ack ?? false,
        replicationReady: config.broadcast?.replication_ready ?? false,
        replay: config.broadcast?.replay !== undefined,
        presenceKey: key === undefined || key === '' ? undefined : String(key),
        // Older clients do not send `enabled`: presence is on for them.
        presenceEnabled: config.presence?.enabled ?? true,
        private: config.private ?? false,
        postgresChanges: (config.postgres_changes ?? []).filter(
            (e): e is Record<string, unknown> => typeof e === 'object' && e !== null && !Array.isArray(e),
        ),
        accessToken: token && !token.startsWith('sb_') ? token : undefined,
    };
}

/** `realtime:<name>` → name; undefined for other topics. */
export function subTopicOf(topic: string): string | undefined {
    return topic.startsWith(TOPIC_PREFIX) ? topic.slice(TOPIC_PREFIX.length) : undefined;
}
