// Time as the realtime service sees it: token expiry checks are scheduled on this clock,
// so tests advance a manual clock instead of sleeping.

export interface Clock {
    /** Milliseconds since the epoch. */
    now(): number;
    /** Runs `fn` once `ms` from now; returns a cancel function. */
    schedule(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
    now: () => Date.now(),
    schedule(ms, fn) {
        const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
        timer.unref();
        return () => clearTimeout(timer);
    },
};

/** A clock that only moves when told to; due callbacks run on `advance`. */
export class ManualClock implements Clock {
    private timers: Array<{ at: number; fn: () => void; id: number }> = [];
    private nextId = 0;

    constructor(private current = Date.now()) {}

    now(): number {
        return this.current;
    }

    schedule(ms: number, fn: () => void): () => void {
        const id = this.nextId++;
        this.timers.push({ at: this.current + ms, fn, id });
        return () => {
            this.timers = this.timers.filter((t) => t.id !== id);
        };
    }

    advance(ms: number): void {
        this.current += ms;
        const due = this.timers.filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at);
        this.timers = this.timers.filter((t) => t.at > this.current);
        for (const t of due) t.fn();
    }
}
