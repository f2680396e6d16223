// In-memory token buckets keyed by client IP or email, on the injected clock. Each limit
// allows `capacity` requests in a burst and refills at `capacity` per `windowMs`, like
// GoTrue's per-IP limiters for [auth.rate_limit].
export class RateLimiter {
    private readonly buckets = new Map<string, { tokens: number; at: number }>();

    constructor(
        private readonly capacity: number,
        private readonly windowMs: number,
        private readonly now: () => Date,
    ) {}

    /** Takes one token for `key`; false when the bucket is empty. */
    take(key: string): boolean {
        if (this.capacity <= 0) return true;
        const t = this.now().getTime();
        const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
        const refill = ((t - bucket.at) / this.windowMs) * this.capacity;
        bucket.tokens = Math.min(this.capacity, bucket.tokens + Math.max(0, refill));
        bucket.at = t;
        if (bucket.tokens < 1) {
            this.buckets.set(key, bucket);
            return false;
        }
        bucket.tokens -= 1;
        this.buckets.set(key, bucket);
        if (this.buckets.size > 100_000) this.buckets.clear();
        return true;
    }
}

const FIVE_MINUTES = 5 * 60_000;
const ONE_HOUR = 60 * 60_000;

export interface RateLimits {
    signInSignUp: RateLimiter;
    signInPerEmail: RateLimiter;
    tokenRefresh: RateLimiter;
    verify: RateLimiter;
    anonymous: RateLimiter;
    emailSent: RateLimiter;
}

export function createRateLimits(
    limits: { sign_in_sign_ups: number; token_refresh: number; token_verifications: number; anonymous_users: number; email_sent: number },
    now: () => Date,
): RateLimits {
    return {
        signInSignUp: new RateLimiter(limits.sign_in_sign_ups, FIVE_MINUTES, now),
        signInPerEmail: new RateLimiter(limits.sign_in_sign_ups, FIVE_MINUTES, now),
        tokenRefresh: new RateLimiter(limits.token_refresh, FIVE_MINUTES, now),
        verify: new RateLimiter(limits.token_verifications, FIVE_MINUTES, now),
        anonymous: new RateLimiter(limits.anonymous_users, ONE_HOUR, now),
        emailSent: new RateLimiter(limits.email_sent, ONE_HOUR, now),
    };
}
