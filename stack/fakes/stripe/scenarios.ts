// Scenarios for the Stripe fake, like `stripe trigger`: a few API calls through the
// official SDK that make Stripe emit a known sequence of events, which are then
// delivered to the webhook endpoints — in order, reversed, or each several times — so
// that a webhook handler can be exercised the way Stripe really behaves (at least once,
// in any order). The events are held while the calls run (`Stripe-Fake-Hold-Webhooks`)
// and delivered afterwards through the fake's `/_fake/events/:id/deliver`.
//
// Each scenario works on a new PaymentIntent / Checkout Session (2000 usd, as the
// Stripe CLI's fixtures), or on an existing one (`paymentIntent`, `session`), e.g. the
// one a checkout just created.
import Stripe from 'stripe';
import type { DeliveryAttempt } from './webhooks.js';

export const SCENARIOS = ['pay', 'fail', '3ds-then-succeed', 'cancel', 'refund', 'dispute', 'expire'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
    paymentIntent?: string;
    session?: string;
    /** Refund amount (default: what is left). */
    amount?: number;
    /** Deliver each event this many times (default 1). */
    duplicate?: number;
    /** Deliver the events newest first. */
    reverse?: boolean;
    /** Called for every delivery attempt, as it happens. */
    onDelivery?: (event: Stripe.Event, attempt: DeliveryAttempt, copy: number) => void;
}

export interface ScenarioResult {
    /** The scenario's events, oldest first. */
    events: Stripe.Event[];
    deliveries: Array<{ event: string; type: string; copy: number; attempts: DeliveryAttempt[] }>;
}

export class ScenarioError extends Error {}

const HOLD = { headers: { 'Stripe-Fake-Hold-Webhooks': 'true' } };

export async function runScenario(stripe: Stripe, scenario: Scenario, options: ScenarioOptions = {}): Promise<ScenarioResult> {
    const requests = new Set<string>();
    const track = <T extends { lastResponse?: { requestId: string } }>(response: T): T => {
        if (response.lastResponse?.requestId) requests.add(response.lastResponse.requestId);
        return response;
    };
    /** A call whose Stripe error is part of the scenario (a decline): its request id counts too. */
    const expectFailure = async (call: Promise<unknown>): Promise<void> => {
        try {
            track((await call) as { lastResponse?: { requestId: string } });
        } catch (error) {
            if (!(error instanceof Stripe.errors.StripeCardError) || !error.requestId) throw error;
            requests.add(error.requestId);
        }
    };
    const newIntent = async () => track(await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', automatic_payment_methods: { enabled: true } }, HOLD)).id;
    const newSession = async () =>
        track(
            await stripe.checkout.sessions.create(
                {
                    mode: 'payment',
                    success_url: 'http://127.0.0.1/success',
                    line_items: [{ price_data: { currency: 'usd', unit_amount: 2000, product_data: { name: 'Scenario item' } }, quantity: 1 }],
                },
                HOLD,
            ),
        ).id;
    const payWith = async (method: string, declined = false) => {
        if (options.session) {
            const call = stripe.rawRequest('POST', `/v1/payment_pages/${options.session}/confirm`, { payment_method: method }, HOLD);
            if (declined) await expectFailure(call);
            else track(await call);
            return (await stripe.checkout.sessions.retrieve(options.session)).payment_intent as string;
        }
        const id = options.paymentIntent ?? (await newIntent());
        const call = stripe.paymentIntents.confirm(id, { payment_method: method }, HOLD);
        if (declined) await expectFailure(call);
        else track(await call);
        return id;
    };

    switch (scenario) {
        case 'pay':
            await payWith('pm_card_visa');
            break;
        case 'fail':
            await payWith('pm_card_chargeDeclined', true);
            break;
        case '3ds-then-succeed': {
            const intent = await payWith('pm_card_authenticationRequired');
            track(await stripe.rawRequest('POST', `/v1/test_helpers/payment_intents/${intent}/authenticate`, { outcome: 'succeed' }, HOLD));
            break;
        }
        case 'dispute':
            await payWith('pm_card_createDispute');
            break;
        case 'cancel': {
            if (options.session) throw new ScenarioError('a Checkout Session is not canceled but expired: use the expire scenario');
            const id = options.paymentIntent ?? (await newIntent());
            track(await stripe.paymentIntents.cancel(id, { cancellation_reason: 'requested_by_customer' }, HOLD));
            break;
        }
        case 'refund': {
            const intent = options.paymentIntent && !options.session ? options.paymentIntent : await payWith('pm_card_visa');
            track(await stripe.refunds.create({ payment_intent: intent, ...(options.amount ? { amount: options.amount } : {}) }, HOLD));
            break;
        }
        case 'expire': {
            if (options.paymentIntent) throw new ScenarioError('a PaymentIntent is not expired but canceled: use the cancel scenario');
            track(await stripe.checkout.sessions.expire(options.session ?? (await newSession()), {}, HOLD));
            break;
        }
    }

    const events = await eventsOf(stripe, requests);
    const ordered = options.reverse ? [...events].reverse() : events;
    const copies = Math.max(1, options.duplicate ?? 1);
    const deliveries: ScenarioResult['deliveries'] = [];
    for (const event of ordered) {
        for (let copy = 1; copy <= copies; copy++) {
            const result = (await stripe.rawRequest('POST', `/_fake/events/${event.id}/deliver`, {})) as unknown as { data: DeliveryAttempt[] };
            for (const attempt of result.data) options.onDelivery?.(event, attempt, copy);
            deliveries.push({ event: event.id, type: event.type, copy, attempts: result.data });
        }
    }
    return { events, deliveries };
}

/** The events the scenario's requests caused, oldest first (the Events API lists newest first). */
async function eventsOf(stripe: Stripe, requests: Set<string>): Promise<Stripe.Event[]> {
    const found: Stripe.Event[] = [];
    let scanned = 0;
    // The scenario's events are among the newest; a busy account is not scanned to the end.
    for await (const event of stripe.events.list({ limit: 100 })) {
        if (event.request?.id && requests.has(event.request.id)) found.push(event);
        if (++scanned >= 1_000) break;
    }
    return found.reverse();
}
