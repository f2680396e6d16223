// In-memory token buckets keyed by client IP or email, on the injected clock. Each limit
// allows `capacity` requests in a burst and refills at `capacity` per `windowMs`, like
// GoTrue's per-IP limiters for [auth.rate_limit].
//
// GoTrue applies its per-IP limiters only when a rate-limit header is configured, which the
// CLI's local stack does not do; here they always apply, but sign-in/sign-up and OTP
// verification limits count failed attempts (guessing) rather than every request, so a
// local test suite signing many users up from 127.0.0.1 is not throttled while brute force is.
export class RateLimiter {
    private readonly buckets = new Map<string, { tokens: number; at: number }>();

    constructor(
        private readonly capacity: number,
        private readonly windowMs: number,
        private readonly now: () => Date,
    ) {}

    private refilled(key: string): { tokens: number; at: number } {
        const t = this.now().getTime();
        const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
        const refill = ((t - bucket.at) / this.windowMs) * this.capacity;
        bucket.tokens = Math.min(this.capacity, bucket.tokens + Math.max(0, refill));
        bucket.at = t;
        return bucket;
    }

    /** Whether `key` has no token left (nothing is taken). */
    exhausted(key: string): boolean {
        if (this.capacity <= 0) return false;
        const bucket = this.refilled(key);
        this.buckets.set(key, bucket);
        return bucket.tokens < 1;
    }

    /** Takes one token for `key`; false when the bucket is empty. */
    take(key: string): boolean {
        if (this.capacity <= 0) return true;
        const bucket = this.refilled(key);
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

/** Counts failures per key (e.g. per MFA challenge); bounded so it cannot grow without limit. */
export class FailureCounter {
    private readonly counts = new Map<string, number>();

    /** Records one failure for `key`; returns how many there are now. */
    add(key: string): number {
        const count = (this.counts.get(key) ?? 0) + 1;
        if (this.counts.size > 100_000) this.counts.clear();
        this.counts.set(key, count);
        return count;
    }

    forget(key: string): void {
        this.counts.delete(key);
    }
}

/** Remembers, per user, the client IPs of successful sign-ins for KNOWN_IP_TTL_MS (bounded). */
export class RecentSignIns {
    private readonly seen = new Map<string, number>();

    constructor(private readonly now: () => Date) {}

    add(userId: string, ip: string): void {
        if (this.seen.size > 100_000) this.seen.clear();
        this.seen.set(`${userId}|${ip}`, this.now().getTime());
    }

    has(userId: string, ip: string): boolean {
        const at = this.seen.get(`${userId}|${ip}`);
        return at !== undefined && this.now().getTime() - at <= KNOWN_IP_TTL_MS;
    }
}

/** How many failures one IP may add to an account's budget per five minutes. */
export const ACCOUNT_SHARE_PER_IP = 3;
/** How long an IP with a successful sign-in stays exempt from that account's budget. */
export const KNOWN_IP_TTL_MS = 30 * 24 * 3600_000;

const FIVE_MINUTES = 5 * 60_000;
const ONE_HOUR = 60 * 60_000;

export interface RateLimits {
    /** Failed credential attempts (password, PKCE) per IP. */
    signInSignUp: RateLimiter;
    /**
     * Failed password attempts per account (email), from IPs without a recent successful
     * sign-in to it; each IP adds at most ACCOUNT_SHARE_PER_IP failures (signInShare), so no
     * single client can exhaust it and lock the owner out. See docs/auth.md.
     */
    signInPerEmail: RateLimiter;
    /** Per (email, IP): how many of its failures an IP may add to the account's budget. */
    signInShare: RateLimiter;
    /** Where each user signed in successfully lately (exempt from the per-account budget). */
    recentSignIns: RecentSignIns;
    tokenRefresh: RateLimiter;
    verify: RateLimiter;
    /** MFA code checks per client IP and per factor (token_verifications, every attempt counts). */
    mfaVerifyPerIp: RateLimiter;
    mfaVerifyPerFactor: RateLimiter;
    /** Wrong codes per MFA challenge; a challenge is retired at MFA_CHALLENGE_MAX_FAILURES. */
    mfaChallengeFailures: FailureCounter;
    anonymous: RateLimiter;
    emailSent: RateLimiter;
    /** Passkey sign-in ceremonies started per IP (each is a stored row; sign_in_sign_ups, every request counts). */
    passkeyCeremonies: RateLimiter;
}

export function createRateLimits(
    limits: { sign_in_sign_ups: number; token_refresh: number; token_verifications: number; anonymous_users: number; email_sent: number },
    now: () => Date,
): RateLimits {
    return {
        signInSignUp: new RateLimiter(limits.sign_in_sign_ups, FIVE_MINUTES, now),
        signInPerEmail: new RateLimiter(limits.sign_in_sign_ups, FIVE_MINUTES, now),
        signInShare: new RateLimiter(ACCOUNT_SHARE_PER_IP, FIVE_MINUTES, now),
        recentSignIns: new RecentSignIns(now),
        tokenRefresh: new RateLimiter(limits.token_refresh, FIVE_MINUTES, now),
        verify: new RateLimiter(limits.token_verifications, FIVE_MINUTES, now),
        mfaVerifyPerIp: new RateLimiter(limits.token_verifications, FIVE_MINUTES, now),
        mfaVerifyPerFactor: new RateLimiter(limits.token_verifications, FIVE_MINUTES, now),
        mfaChallengeFailures: new FailureCounter(),
        anonymous: new RateLimiter(limits.anonymous_users, ONE_HOUR, now),
        emailSent: new RateLimiter(limits.email_sent, ONE_HOUR, now),
        passkeyCeremonies: new RateLimiter(limits.sign_in_sign_ups, FIVE_MINUTES, now),
    };
}
