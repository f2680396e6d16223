// Presence of one channel topic, as Phoenix.Presence keeps it: key → metas, each meta
// tagged with a unique `phx_ref` (and `phx_ref_prev` when a track updates an earlier
// one). Changes come back as the `presence_diff` they cause. Pure.
import { randomBytes } from 'node:crypto';

export type Meta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
export type PresenceState = Record<string, { metas: Meta[] }>;
export interface PresenceDiff {
    joins: PresenceState;
    leaves: PresenceState;
}

interface Entry {
    owner: string;
    key: string;
    meta: Meta;
}

/** A Phoenix-style ref: unique, URL-safe. */
export const newPhxRef = (): string => randomBytes(8).toString('base64url');

export class PresenceTopic {
    private entries: Entry[] = [];

    get size(): number {
        return this.entries.length;
    }

    /** Tracks (or re-tracks, replacing its meta) `owner` under `key`. */
    track(owner: string, key: string, payload: Record<string, unknown>): PresenceDiff {
        const previous = this.entries.find((e) => e.owner === owner);
        const meta: Meta = { ...payload, phx_ref: newPhxRef() };
        const diff: PresenceDiff = { joins: {}, leaves: {} };
        if (previous) {
            this.entries = this.entries.filter((e) => e !== previous);
            if (previous.key === key) meta.phx_ref_prev = previous.meta.phx_ref;
            diff.leaves[previous.key] = { metas: [previous.meta] };
        }
        this.entries.push({ owner, key, meta });
        diff.joins[key] = { metas: [meta] };
        return diff;
    }

    /** Removes what `owner` tracked; undefined when it tracked nothing. */
    untrack(owner: string): PresenceDiff | undefined {
        const previous = this.entries.find((e) => e.owner === owner);
        if (!previous) return undefined;
        this.entries = this.entries.filter((e) => e !== previous);
        return { joins: {}, leaves: { [previous.key]: { metas: [previous.meta] } } };
    }

    state(): PresenceState {
        const state: PresenceState = {};
        for (const e of this.entries) (state[e.key] ??= { metas: [] }).metas.push(e.meta);
        return state;
    }
}
