// `npm run stripe -- trigger <scenario> [options]`: plays a scenario on the local
// Stripe fake of the running stack and delivers its events to the stack's
// stripe-webhook function, printing each delivery's status — the local `stripe trigger`.
//
//   scenarios: pay, fail, 3ds-then-succeed, cancel, refund, dispute, expire
//   --payment-intent pi_…   act on this PaymentIntent (e.g. the one checkout returned)
//   --session cs_…          act on this Checkout Session
//   --amount <n>            refund amount in minor units (refund; default all)
//   --duplicate <n>         deliver every event n times
//   --reverse               deliver the events newest first
//   --api-url <url>         the fake (default: the running stack's, else [local_stripe] port)
//   --workdir <dir>         the project (default: this repository)
//   --json                  print the result as JSON
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import { ConfigError, loadProjectConfig } from '../../config.js';
import { PROJECT_ROOT } from '../../paths.js';
import { LOCAL_STRIPE_SECRET_KEY } from './keys.js';
import { localStripeFor } from './local.js';
import { runScenario, ScenarioError, SCENARIOS, type Scenario } from './scenarios.js';

const USAGE = `usage: npm run stripe -- trigger <${SCENARIOS.join('|')}> [--payment-intent pi_…] [--session cs_…] [--amount n] [--duplicate n] [--reverse] [--api-url url] [--json]`;

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        'payment-intent': { type: 'string' },
        session: { type: 'string' },
        amount: { type: 'string' },
        duplicate: { type: 'string', default: '1' },
        reverse: { type: 'boolean', default: false },
        'api-url': { type: 'string' },
        workdir: { type: 'string', default: PROJECT_ROOT },
        json: { type: 'boolean', default: false },
    },
});

/** The fake's URL: --api-url, else the running stack's status, else the configured port. */
function fakeUrl(workdir: string): string {
    if (values['api-url']) return values['api-url'];
    const config = loadProjectConfig(workdir);
    const local = localStripeFor(config);
    if (local.kind === 'real') {
        throw new ScenarioError('the functions use the real Stripe (STRIPE_SECRET_KEY in their secrets): use the Stripe CLI, `stripe trigger <event>`');
    }
    try {
        const status = JSON.parse(fs.readFileSync(path.join(config.workdir, '.local', 'stack.json'), 'utf8')) as { STRIPE_API_URL?: string };
        if (status.STRIPE_API_URL) return status.STRIPE_API_URL;
    } catch {
        // no running stack: the configured port
    }
    return local.apiUrl;
}

async function main(): Promise<number> {
    const [command, scenario] = positionals;
    if (command !== 'trigger' || !SCENARIOS.includes(scenario as Scenario)) {
        console.error(USAGE);
        return 2;
    }
    const duplicate = Number(values.duplicate);
    const amount = values.amount === undefined ? undefined : Number(values.amount);
    if (!Number.isInteger(duplicate) || duplicate < 1 || duplicate > 100 || (amount !== undefined && (!Number.isInteger(amount) || amount < 1))) {
        console.error(`${USAGE}\n--duplicate is 1–100 and --amount a positive integer`);
        return 2;
    }
    const url = new URL(fakeUrl(values.workdir));
    const stripe = new Stripe(LOCAL_STRIPE_SECRET_KEY, {
        host: url.hostname,
        port: url.port || 80,
        protocol: url.protocol === 'https:' ? 'https' : 'http',
        maxNetworkRetries: 0,
        telemetry: false,
    });
    const result = await runScenario(stripe, scenario as Scenario, {
        paymentIntent: values['payment-intent'],
        session: values.session,
        amount,
        duplicate,
        reverse: values.reverse,
        onDelivery: values.json
            ? undefined
            : (event, attempt, copy) =>
                  console.log(
                      `${event.id}  ${event.type.padEnd(40)} ${duplicate > 1 ? `copy ${copy}/${duplicate}  ` : ''}→ ${attempt.status ?? attempt.error} ${attempt.url}`,
                  ),
    });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.error(`• ${scenario}: ${result.events.length} event(s), ${result.deliveries.length} deliver${result.deliveries.length === 1 ? 'y' : 'ies'}`);
    const failed = result.deliveries.some((d) => d.attempts.some((a) => a.status === undefined || a.status >= 300));
    return failed ? 1 : 0;
}

main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
        const known = error instanceof ScenarioError || error instanceof ConfigError || error instanceof Stripe.errors.StripeError;
        console.error(`error: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`);
        if ((error as { code?: string }).code === 'ECONNREFUSED' || error instanceof Stripe.errors.StripeConnectionError) {
            console.error('is the local stack running? (npm start)');
        }
        process.exitCode = 1;
    },
);
