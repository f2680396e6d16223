// The scenario runner (`npm run stripe -- trigger …`): each scenario's events, delivered
// in order, reversed, or duplicated, signed so that the official SDK accepts them.
import { spawn } from 'node:child_process';
import path from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_STRIPE_SECRET_KEY, startStripeFake, type RunningStripeFake } from '../../../../stack/fakes/stripe/index.js';
import { runScenario, type Scenario } from '../../../../stack/fakes/stripe/scenarios.js';
import { listen, type Listening } from '../../../../stack/http.js';
import { PROJECT_ROOT } from '../../../../stack/paths.js';

const SECRET = 'whsec_scenarios';
const received: Stripe.Event[] = [];
let receiver: Listening;
let fake: RunningStripeFake;
let stripe: Stripe;

beforeAll(async () => {
    const verifier = new Stripe('sk_test_unused');
    receiver = await listen(
        async (request) => {
            const event = verifier.webhooks.constructEvent(await request.text(), request.headers.get('stripe-signature') ?? '', SECRET);
            received.push(event);
            return new Response('{}', { status: 200 });
        },
        { port: 0 },
    );
    fake = await startStripeFake({ sweepIntervalMs: 0, endpoints: [{ url: `${receiver.url}/hook`, secret: SECRET }] });
    stripe = new Stripe(LOCAL_STRIPE_SECRET_KEY, { host: '127.0.0.1', port: fake.listening.port, protocol: 'http', maxNetworkRetries: 0 });
});

afterAll(async () => {
    await fake.close();
    await receiver.close();
});

async function play(scenario: Scenario, options: Parameters<typeof runScenario>[2] = {}) {
    received.length = 0;
    const result = await runScenario(stripe, scenario, options);
    await fake.webhooks.settled();
    return { result, delivered: received.map((e) => e.type) };
}

describe('scenarios', () => {
    it.each([
        ['pay', ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']],
        ['fail', ['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']],
        ['3ds-then-succeed', ['payment_intent.created', 'payment_intent.requires_action', 'charge.succeeded', 'payment_intent.succeeded']],
        ['cancel', ['payment_intent.created', 'payment_intent.canceled']],
        ['refund', ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'refund.created', 'charge.refunded']],
        ['dispute', ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'charge.dispute.created']],
        ['expire', ['checkout.session.expired']],
    ] as const)('%s delivers its events once each, in order, only through the runner', async (scenario, types) => {
        const { result, delivered } = await play(scenario);
        expect(result.events.map((e) => e.type)).toEqual(types);
        expect(delivered).toEqual(types);
        expect(result.deliveries.every((d) => d.attempts.every((a) => a.status === 200))).toBe(true);
    });

    it('--duplicate 3 delivers every event three times', async () => {
        const { delivered, result } = await play('pay', { duplicate: 3 });
        expect(delivered).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded'].flatMap((t) => [t, t, t]));
        expect(new Set(received.map((e) => e.id)).size).toBe(result.events.length);
    });

    it('--reverse delivers the newest event first', async () => {
        const { delivered } = await play('refund', { reverse: true });
        expect(delivered).toEqual(['charge.refunded', 'refund.created', 'payment_intent.succeeded', 'charge.succeeded', 'payment_intent.created']);
    });

    it('acts on an existing PaymentIntent or Checkout Session', async () => {
        const intent = await stripe.paymentIntents.create({ amount: 4500, currency: 'eur', metadata: { order_id: 'o-1' } });
        const paid = await play('pay', { paymentIntent: intent.id });
        expect(paid.result.events.map((e) => (e.data.object as { id: string }).id)).toContain(intent.id);
        expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');

        const session = await stripe.checkout.sessions.create({
            mode: 'payment',
            success_url: 'http://shop.test/ok',
            line_items: [{ price_data: { currency: 'eur', unit_amount: 4500, product_data: { name: 'Tee' } }, quantity: 1 }],
        });
        const completed = await play('pay', { session: session.id });
        expect(completed.delivered).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'checkout.session.completed']);
    });
});

describe('npm run stripe -- trigger', () => {
    it('plays a scenario against the fake at --api-url and prints the deliveries as JSON', async () => {
        received.length = 0;
        const output = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/fakes/stripe/cli.ts', 'trigger', 'cancel', '--api-url', fake.url, '--json'], {
                cwd: PROJECT_ROOT,
                stdio: ['ignore', 'pipe', 'pipe'],
            });
            let stdout = '';
            let stderr = '';
            child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
            child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
            child.once('close', (code) => resolve({ code, stdout, stderr }));
        });
        expect(output.code, output.stderr).toBe(0);
        const result = JSON.parse(output.stdout) as { events: Array<{ type: string }>; deliveries: Array<{ attempts: Array<{ status: number }> }> };
        expect(result.events.map((e) => e.type)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
        expect(received.map((e) => e.type)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
    });

    it('refuses an unknown scenario with its usage', async () => {
        const code = await new Promise<number | null>((resolve) => {
            const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/fakes/stripe/cli.ts', 'trigger', 'explode', '--api-url', fake.url], {
                cwd: PROJECT_ROOT,
                stdio: 'ignore',
            });
            child.once('close', resolve);
        });
        expect(code).toBe(2);
    });
});
