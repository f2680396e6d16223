// One Stripe customer per user. The link is kept in private.stripe_customers
// (link_stripe_customer: the first link wins). Creating the customer uses an
// idempotency key derived from the user (and the email it carries), so concurrent
// checkouts of one user get the same customer from Stripe rather than one each.
import type Stripe from 'stripe';
import type { Db } from '../_shared/db.ts';

async function sha256Hex(text: string): Promise<string> {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function customerIdempotencyKey(userId: string, emailHash: string): string {
    return `tillbase:customer:${userId}:${emailHash.slice(0, 16)}`;
}

export async function ensureStripeCustomer(db: Db, stripe: Stripe, userId: string, email: string): Promise<string> {
    const known = await db.query<{ stripe_customer_id: string }>('select stripe_customer_id from private.stripe_customers where user_id = $1', [userId]);
    if (known.rows[0]) return known.rows[0].stripe_customer_id;
    const customer = await stripe.customers.create(
        { email, metadata: { user_id: userId } },
        { idempotencyKey: customerIdempotencyKey(userId, await sha256Hex(email.toLowerCase())) },
    );
    const linked = await db.query<{ id: string }>('select public.link_stripe_customer($1, $2) as id', [userId, customer.id]);
    return linked.rows[0]!.id;
}
