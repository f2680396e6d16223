// The local Stripe fake's keys: fixed, public, test-mode only — like the demo keys
// `supabase start` prints. They are given to the functions by the local stack and
// printed by `npm run status -- -o env`; they mean nothing to the real Stripe.

export const LOCAL_STRIPE_SECRET_KEY = 'sk_test_tillbaseLocalStripeFakeSecretKey000000000000000000';
export const LOCAL_STRIPE_PUBLISHABLE_KEY = 'pk_test_tillbaseLocalStripeFakePublishableKey0000000000000';
export const LOCAL_STRIPE_WEBHOOK_SECRET = 'whsec_tillbaseLocalStripeFakeSigningSecret0000000000';

/** Default port of the fake: next to the Supabase CLI's 54321–54329. */
export const LOCAL_STRIPE_PORT = 54330;
