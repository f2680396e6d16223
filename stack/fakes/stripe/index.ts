// A local Stripe API (test mode) for the stack and the tests: the endpoints a shop's
// backend calls, with Stripe's object shapes, ids, list envelopes, form-encoded bodies,
// error bodies and Idempotency-Key semantics, plus signed webhook delivery like
// `stripe listen`. The official SDK reaches it with `new Stripe(key, {host, port,
// protocol: 'http'})`. Generic: it knows Stripe, not what the shop sells.
//
// Fake-only additions, all outside Stripe's real API surface or marked as test helpers:
//   POST /v1/test_helpers/payment_intents/:id/authenticate   answer a 3-D Secure challenge
//   POST /v1/payment_pages/:session/confirm                  pay a Checkout Session (what
//                                                            `stripe trigger` calls too)
//   POST /_fake/events/:id/deliver                           deliver one event once, now
//   header `Stripe-Fake-Hold-Webhooks: true`                 record this request's events
//                                                            without delivering them
//   GET|POST /c/pay/:session                                 a minimal hosted payment page
import { listen, type FetchHandler, type Listening } from '../../http.js';
import { StripeAccount, STRIPE_API_VERSION, type ChangeContext } from './account.js';
import { apiError, authentication, invalid, noSuch, StripeApiError } from './errors.js';
import { canonicalParams, decodeForm, FormError, type FormObject } from './form.js';
import { IdempotencyKeys, type SavedResponse } from './idempotency.js';
import { newId } from './ids.js';
import type { StripeObject } from './objects.js';
import { hostedPage } from './page.js';
import { Params } from './params.js';
import { LOCAL_RETRY_DELAYS_MS, WebhookDeliveries, type DeliveryAttempt, type WebhookEndpoint } from './webhooks.js';

export { LOCAL_STRIPE_PUBLISHABLE_KEY, LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET } from './keys.js';
import { LOCAL_STRIPE_PUBLISHABLE_KEY, LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET } from './keys.js';

export type { StripeAccount } from './account.js';
export type { DeliveryAttempt, WebhookEndpoint } from './webhooks.js';

export type FakeLog = (entry: Record<string, unknown> & { level: 'info' | 'warn' | 'error'; msg: string }) => void;

export interface StripeFakeOptions {
    /** Secret key(s) accepted (default the local one). */
    secretKeys?: string[];
    publishableKey?: string;
    /** Where events go, each signed with its own secret (`stripe listen --forward-to`). */
    endpoints?: WebhookEndpoint[];
    retryDelaysMs?: number[];
    webhookTimeoutMs?: number;
    /** The clock, in ms (default Date.now). */
    now?: () => number;
    /** How often open Checkout Sessions past `expires_at` are expired (0: only by `tick()`). */
    sweepIntervalMs?: number;
    schedule?: (run: () => void, ms: number) => () => void;
    log?: FakeLog;
}

export interface StripeFake {
    handler: FetchHandler;
    account: StripeAccount;
    webhooks: WebhookDeliveries;
    /** The endpoints events are delivered to (mutable). */
    endpoints: WebhookEndpoint[];
    /** Base URL once listening (hosted page URLs use it). */
    url: string;
    faults: {
        /** The next `count` API requests fail with this status (500 api_error by default) before doing anything. */
        failNext(count: number, status?: number): void;
        /**
         * The next `count` API requests take `ms` longer, inside their idempotency window:
         * a slow Stripe, where concurrent requests with the same key get 409
         * `idempotency_key_in_use` meanwhile.
         */
        slowNext(count: number, ms: number): void;
    };
    /** Runs Stripe's own background work once: expires sessions past their deadline. */
    tick(): void;
    listen(port: number, host?: string): Promise<Listening>;
    close(): Promise<void>;
}

const ROUTES: Array<{ method: string; pattern: RegExp; name: string }> = [
    ['POST', '/v1/customers', 'customers.create'],
    ['GET', '/v1/customers', 'customers.list'],
    ['GET', '/v1/customers/search', 'customers.search'],
    ['GET', '/v1/customers/:id', 'customers.retrieve'],
    ['POST', '/v1/payment_intents', 'payment_intents.create'],
    ['GET', '/v1/payment_intents/:id', 'payment_intents.retrieve'],
    ['POST', '/v1/payment_intents/:id/confirm', 'payment_intents.confirm'],
    ['POST', '/v1/payment_intents/:id/capture', 'payment_intents.capture'],
    ['POST', '/v1/payment_intents/:id/cancel', 'payment_intents.cancel'],
    ['POST', '/v1/test_helpers/payment_intents/:id/authenticate', 'payment_intents.authenticate'],
    ['POST', '/v1/checkout/sessions', 'checkout.sessions.create'],
    ['GET', '/v1/checkout/sessions/:id', 'checkout.sessions.retrieve'],
    ['GET', '/v1/checkout/sessions/:id/line_items', 'checkout.sessions.line_items'],
    ['POST', '/v1/checkout/sessions/:id/expire', 'checkout.sessions.expire'],
    ['POST', '/v1/payment_pages/:id/confirm', 'payment_pages.confirm'],
    ['POST', '/v1/refunds', 'refunds.create'],
    ['GET', '/v1/refunds/:id', 'refunds.retrieve'],
    ['GET', '/v1/charges/:id', 'charges.retrieve'],
    ['GET', '/v1/disputes/:id', 'disputes.retrieve'],
    ['GET', '/v1/events', 'events.list'],
    ['GET', '/v1/events/:id', 'events.retrieve'],
    ['POST', '/_fake/events/:id/deliver', 'fake.deliver'],
].map(([method, path, name]) => ({
    method: method!,
    pattern: new RegExp(`^${path!.replace(':id', '([^/]+)')}$`),
    name: name!,
}));

/** Operations a publishable key may call, with the object's client_secret. */
const PUBLISHABLE = new Set(['payment_intents.retrieve', 'payment_intents.confirm']);

const UNRECOGNIZED = (method: string, path: string) =>
    invalid(`Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`);

export function createStripeFake(options: StripeFakeOptions = {}): StripeFake {
    const now = options.now ?? Date.now;
    const secretKeys = options.secretKeys ?? [LOCAL_STRIPE_SECRET_KEY];
    const publishableKey = options.publishableKey ?? LOCAL_STRIPE_PUBLISHABLE_KEY;
    const endpoints: WebhookEndpoint[] = options.endpoints ?? [];
    const log = options.log ?? (() => {});
    let baseUrl = 'http://127.0.0.1';
    let failures: { count: number; status: number } = { count: 0, status: 500 };
    let slow: { count: number; ms: number } = { count: 0, ms: 0 };
    const webhooks = new WebhookDeliveries({
        endpoints: () => endpoints,
        retryDelaysMs: options.retryDelaysMs ?? LOCAL_RETRY_DELAYS_MS,
        timeoutMs: options.webhookTimeoutMs,
        now,
        schedule: options.schedule,
        log,
    });
    const account = new StripeAccount({
        now,
        baseUrl: () => baseUrl,
        endpointCount: () => endpoints.length,
        onEvent: (event, context) => {
            if (!context.holdWebhooks) webhooks.enqueue(event);
        },
    });
    const keys = new IdempotencyKeys(now);

    const execute = async (name: string, id: string | undefined, params: FormObject, context: ChangeContext): Promise<unknown> => {
        const p = (allowed: readonly string[]) => new Params(params, allowed);
        switch (name) {
            case 'customers.create':
                return account.createCustomer(p(['email', 'name', 'description', 'phone', 'metadata']), context);
            case 'customers.list':
                return account.listCustomers(p(['email', 'limit', 'starting_after', 'ending_before', 'created']));
            case 'customers.search':
                return account.searchCustomers(p(['query', 'limit', 'page']));
            case 'customers.retrieve':
                return account.retrieveCustomer(id!);
            case 'payment_intents.create':
                return account.createPaymentIntent(
                    p([
                        'amount', 'currency', 'customer', 'payment_method', 'confirm', 'capture_method', 'confirmation_method', 'metadata',
                        'description', 'receipt_email', 'automatic_payment_methods', 'payment_method_types', 'return_url',
                        'statement_descriptor', 'statement_descriptor_suffix', 'off_session', 'setup_future_usage',
                    ]),
                    context,
                );
            case 'payment_intents.retrieve':
                p(['client_secret']);
                return account.retrievePaymentIntent(id!);
            case 'payment_intents.confirm':
                return account.confirmPaymentIntent(id!, p(['payment_method', 'return_url', 'receipt_email', 'client_secret', 'off_session', 'use_stripe_sdk']), context);
            case 'payment_intents.capture':
                return account.capturePaymentIntent(id!, p(['amount_to_capture', 'metadata']), context);
            case 'payment_intents.cancel':
                return account.cancelPaymentIntent(id!, p(['cancellation_reason']), context);
            case 'payment_intents.authenticate':
                return account.authenticatePaymentIntent(id!, p(['outcome']), context);
            case 'checkout.sessions.create':
                return account.createCheckoutSession(
                    p([
                        'mode', 'line_items', 'success_url', 'cancel_url', 'customer', 'customer_email', 'client_reference_id', 'metadata',
                        'payment_intent_data', 'expires_at', 'payment_method_types', 'allowed_payment_method_types', 'locale',
                    ]),
                    context,
                );
            case 'checkout.sessions.retrieve':
                return account.retrieveCheckoutSession(id!);
            case 'checkout.sessions.line_items': {
                const items = account.lineItemsOf(id!).map((l, i) => ({
                    id: `li_${i}_${id!.slice(-12)}`,
                    object: 'item',
                    amount_subtotal: l.unit_amount * l.quantity,
                    amount_total: l.unit_amount * l.quantity,
                    currency: l.currency,
                    description: l.name,
                    quantity: l.quantity,
                    price: { object: 'price', currency: l.currency, unit_amount: l.unit_amount },
                }));
                return { object: 'list', data: items, has_more: false, url: `/v1/checkout/sessions/${id}/line_items` };
            }
            case 'checkout.sessions.expire':
                return account.expireCheckoutSession(id!, context);
            case 'payment_pages.confirm':
                return account.confirmPaymentPage(id!, p(['payment_method', 'expected_amount', 'email']), context);
            case 'refunds.create':
                return account.createRefund(p(['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'instructions_email']), context);
            case 'refunds.retrieve':
                return account.retrieveRefund(id!);
            case 'charges.retrieve':
                return account.retrieveCharge(id!);
            case 'disputes.retrieve':
                return account.retrieveDispute(id!);
            case 'events.list':
                return account.listEvents(p(['type', 'types', 'created', 'limit', 'starting_after', 'ending_before', 'delivery_success']));
            case 'events.retrieve':
                return account.retrieveEvent(id!);
            case 'fake.deliver': {
                const event = account.retrieveEvent(id!);
                const attempts: DeliveryAttempt[] = await webhooks.deliverOnce(event);
                return { object: 'list', data: attempts, has_more: false, url: `/_fake/events/${id}/deliver` };
            }
            default:
                throw apiError(`no operation ${name}`);
        }
    };

    const respond = (status: number, body: unknown, headers: Record<string, string>) =>
        new Response(typeof body === 'string' ? body : JSON.stringify(body, null, 2), {
            status,
            headers: { 'content-type': 'application/json', 'access-control-allow-origin': '*', ...headers },
        });

    const api: FetchHandler = async (request) => {
        const url = new URL(request.url);
        const requestId = newId('req', 14);
        const headers: Record<string, string> = {
            'request-id': requestId,
            'stripe-version': request.headers.get('stripe-version') ?? STRIPE_API_VERSION,
        };
        const fail = (error: StripeApiError) => {
            if (error.shouldRetry !== undefined) headers['stripe-should-retry'] = String(error.shouldRetry);
            return respond(error.status, { error: { ...error.body, request_log_url: `${baseUrl}/logs/${requestId}` } }, headers);
        };
        const route = ROUTES.find((r) => r.method === request.method && r.pattern.test(url.pathname));
        if (!route) {
            const known = ROUTES.some((r) => r.pattern.test(url.pathname));
            return fail(known ? invalid(`Unrecognized request URL (${request.method}: ${url.pathname}).`) : UNRECOGNIZED(request.method, url.pathname));
        }
        const id = route.pattern.exec(url.pathname)![1];

        let params: FormObject;
        try {
            params = request.method === 'GET' ? decodeForm(url.searchParams) : decodeForm(await request.text());
        } catch (error) {
            if (error instanceof FormError) return fail(invalid(error.message));
            throw error;
        }

        const key = apiKey(request);
        if (!key) {
            return fail(
                authentication(
                    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
                ),
            );
        }
        const isSecret = secretKeys.includes(key);
        const isPublishable = key === publishableKey && PUBLISHABLE.has(route.name);
        if (!isSecret && !isPublishable) {
            if (key === publishableKey) return fail(authentication('This API call cannot be made with a publishable API key. Please use a secret API key.'));
            return fail(authentication(`Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(4)}${key.slice(-4)}`));
        }
        if (isPublishable && !isSecret) {
            const intent = account.paymentIntents.get(id!);
            if (!intent || params.client_secret !== intent.client_secret) return fail(noSuch('payment_intent', id!, 'intent'));
        }
        if (failures.count > 0) {
            failures.count--;
            return fail(failures.status === 429 ? new StripeApiError(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' }) : new StripeApiError(failures.status, { type: 'api_error', message: 'An unknown error occurred' }));
        }

        const idempotencyKey = request.method === 'POST' ? request.headers.get('idempotency-key') : null;
        const context: ChangeContext = {
            requestId,
            idempotencyKey,
            holdWebhooks: request.headers.get('stripe-fake-hold-webhooks') === 'true',
        };
        let finish: ((response: SavedResponse | undefined) => void) | undefined;
        if (idempotencyKey) {
            headers['idempotency-key'] = idempotencyKey;
            const decision = keys.begin(key, idempotencyKey, `${request.method} ${url.pathname}`, canonicalParams(params));
            if (decision instanceof StripeApiError) return fail(decision);
            if (decision.kind === 'replay') {
                return respond(decision.response.status, decision.response.body, {
                    ...headers,
                    'idempotent-replayed': 'true',
                    'original-request': decision.response.requestId,
                });
            }
            finish = decision.finish;
        }
        if (slow.count > 0) {
            slow.count--;
            await new Promise((resolve) => setTimeout(resolve, slow.ms));
        }

        let status = 200;
        let body: string;
        try {
            const result = await execute(route.name, id, params, context);
            body = JSON.stringify(expand(result, params, account), null, 2);
        } catch (error) {
            if (!(error instanceof StripeApiError)) {
                log({ level: 'error', msg: 'stripe fake: unexpected error', error: String((error as Error).stack ?? error) });
                error = apiError();
            }
            const failure = error as StripeApiError;
            if (failure.isValidation) {
                finish?.(undefined);
                return fail(failure);
            }
            status = failure.status;
            body = JSON.stringify({ error: { ...failure.body, request_log_url: `${baseUrl}/logs/${requestId}` } }, null, 2);
        }
        finish?.({ status, body, requestId });
        return respond(status, body, headers);
    };

    const page = hostedPage(account, () => baseUrl);

    const handler: FetchHandler = async (request, info) => {
        const { pathname } = new URL(request.url);
        if (pathname.startsWith('/c/pay/') || pathname.startsWith('/3ds/')) return page(request, info);
        return api(request, info);
    };

    let sweep: NodeJS.Timeout | undefined;
    let server: Listening | undefined;
    const tick = () => {
        account.expireDueSessions();
    };

    return {
        handler,
        account,
        webhooks,
        endpoints,
        get url() {
            return baseUrl;
        },
        faults: {
            failNext(count, status = 500) {
                failures = { count, status };
            },
            slowNext(count, ms) {
                slow = { count, ms };
            },
        },
        tick,
        async listen(port, host = '127.0.0.1') {
            server = await listen(handler, { port, host });
            baseUrl = server.url;
            const every = options.sweepIntervalMs ?? 1_000;
            if (every > 0) {
                sweep = setInterval(tick, every);
                sweep.unref();
            }
            return server;
        },
        async close() {
            if (sweep) clearInterval(sweep);
            webhooks.close();
            await server?.close();
        },
    };
}

/** `Authorization: Bearer sk_…` or HTTP Basic with the key as user name (curl -u sk_…:). */
function apiKey(request: Request): string | undefined {
    const header = request.headers.get('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (bearer) return bearer;
    const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
    if (basic) return Buffer.from(basic, 'base64').toString('utf8').split(':')[0] || undefined;
    return undefined;
}

/** `expand[]=field`: top-level id fields replaced by their objects (one level, as most clients use it). */
function expand(result: unknown, params: FormObject, account: StripeAccount): unknown {
    const raw = params.expand;
    const paths = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : typeof raw === 'string' ? [raw] : [];
    if (!paths.length || !result || typeof result !== 'object') return result;
    const copy = structuredClone(result) as Record<string, unknown>;
    for (const path of paths) {
        if (typeof path !== 'string') continue;
        const field = path.replace(/^data\./, '');
        const targets = path.startsWith('data.') && Array.isArray(copy.data) ? (copy.data as Record<string, unknown>[]) : [copy];
        for (const target of targets) {
            const value = target[field];
            if (typeof value === 'string') {
                const found: StripeObject | undefined = account.find(value);
                if (found) target[field] = structuredClone(found);
            }
        }
    }
    return copy;
}

export interface RunningStripeFake extends StripeFake {
    listening: Listening;
}

/** A fake listening on `port` (0: any free port), ready for the SDK and the stack. */
export async function startStripeFake(options: StripeFakeOptions & { port?: number } = {}): Promise<RunningStripeFake> {
    const fake = createStripeFake(options);
    const listening = await fake.listen(options.port ?? 0);
    return Object.assign(fake, { listening });
}

