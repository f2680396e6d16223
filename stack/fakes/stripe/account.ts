// One Stripe test-mode account in memory: customers, PaymentIntents (with Stripe's test
// payment methods), Checkout Sessions, charges, refunds, disputes, and the events each
// change emits. Generic Stripe behaviour only — nothing here knows what a shop is.
//
// The clock is injected (`now`, in ms): sessions expire when `expireDueSessions()` runs
// after their `expires_at`, and the Events API keeps 30 days, both by that clock.
import Stripe from 'stripe';
import { invalid, missingParam, noSuch, StripeApiError, unexpectedState, docUrl } from './errors.js';
import { newId, randomBase62 } from './ids.js';
import type {
    ApiList,
    Charge,
    CheckoutSession,
    Customer,
    Dispute,
    LastPaymentError,
    LineItem,
    Metadata,
    PaymentIntent,
    PaymentMethod,
    Refund,
    StripeEvent,
    StripeObject,
} from './objects.js';
import { Params } from './params.js';

/** The API version the official SDK pins (and the fake's events carry). */
export const STRIPE_API_VERSION: string = Stripe.API_VERSION;

/** What caused a change: the API request (its id and idempotency key) or nothing (Stripe itself). */
export interface ChangeContext {
    requestId: string | null;
    idempotencyKey: string | null;
    /** Events of this request are recorded but not delivered to webhooks (the scenario runner delivers them). */
    holdWebhooks?: boolean;
}

const AUTOMATIC: ChangeContext = { requestId: null, idempotencyKey: null };

/** Stripe's test payment methods and what a charge attempt with each does. */
interface TestCard {
    brand: string;
    last4: string;
    outcome: 'succeed' | 'decline' | 'authenticate' | 'dispute' | 'inquiry';
    declineCode?: string;
}

export const TEST_PAYMENT_METHODS: Record<string, TestCard> = {
    pm_card_visa: { brand: 'visa', last4: '4242', outcome: 'succeed' },
    pm_card_mastercard: { brand: 'mastercard', last4: '4444', outcome: 'succeed' },
    pm_card_amex: { brand: 'amex', last4: '8431', outcome: 'succeed' },
    tok_visa: { brand: 'visa', last4: '4242', outcome: 'succeed' },
    pm_card_chargeDeclined: { brand: 'visa', last4: '0002', outcome: 'decline', declineCode: 'generic_decline' },
    pm_card_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', outcome: 'decline', declineCode: 'insufficient_funds' },
    pm_card_chargeDeclinedExpiredCard: { brand: 'visa', last4: '0069', outcome: 'decline', declineCode: 'expired_card' },
    tok_chargeDeclined: { brand: 'visa', last4: '0002', outcome: 'decline', declineCode: 'generic_decline' },
    pm_card_authenticationRequired: { brand: 'visa', last4: '3184', outcome: 'authenticate' },
    pm_card_threeDSecure2Required: { brand: 'visa', last4: '3220', outcome: 'authenticate' },
    pm_card_createDispute: { brand: 'visa', last4: '0259', outcome: 'dispute' },
    pm_card_createDisputeInquiry: { brand: 'visa', last4: '2685', outcome: 'inquiry' },
};

const DECLINE_MESSAGES: Record<string, string> = {
    generic_decline: 'Your card was declined.',
    insufficient_funds: 'Your card has insufficient funds.',
    expired_card: 'Your card has expired.',
};

const EVENT_RETENTION_S = 30 * 24 * 3600;
const SESSION_MIN_LIFETIME_S = 30 * 60;
const SESSION_MAX_LIFETIME_S = 24 * 3600;

export interface AccountOptions {
    now: () => number;
    /** Base URL of the fake, for hosted page URLs (`url` of a Checkout Session). */
    baseUrl: () => string;
    /** Called for every event, in order. */
    onEvent: (event: StripeEvent, context: ChangeContext) => void;
    /** How many webhook endpoints an event is sent to (`pending_webhooks`). */
    endpointCount: () => number;
}

interface IntentState {
    /** The Checkout Session that created this PaymentIntent. */
    sessionId?: string;
    /** Payment method waiting for 3-D Secure. */
    authenticating?: string;
}

interface SessionState {
    lineItems: LineItem[];
    paymentIntentData: { metadata: Metadata; description?: string; captureMethod: PaymentIntent['capture_method']; receiptEmail?: string };
}

export class StripeAccount {
    readonly customers = new Map<string, Customer>();
    readonly paymentIntents = new Map<string, PaymentIntent>();
    readonly paymentMethods = new Map<string, PaymentMethod>();
    readonly charges = new Map<string, Charge>();
    readonly refunds = new Map<string, Refund>();
    readonly disputes = new Map<string, Dispute>();
    readonly sessions = new Map<string, CheckoutSession>();
    /** Every event, oldest first. */
    readonly events: StripeEvent[] = [];
    private readonly intentState = new Map<string, IntentState>();
    private readonly sessionState = new Map<string, SessionState>();
    private readonly cards = new Map<string, TestCard>();

    constructor(private readonly options: AccountOptions) {}

    private get created(): number {
        return Math.floor(this.options.now() / 1000);
    }

    // ---------------------------------------------------------------- events

    private emit(type: string, object: StripeObject, context: ChangeContext, previous?: Record<string, unknown>): void {
        const event: StripeEvent = {
            id: newId('evt'),
            object: 'event',
            api_version: STRIPE_API_VERSION,
            created: this.created,
            data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
            livemode: false,
            pending_webhooks: this.options.endpointCount(),
            request: { id: context.requestId, idempotency_key: context.idempotencyKey },
            type,
        };
        this.events.push(event);
        this.options.onEvent(event, context);
    }

    private retained(event: StripeEvent): boolean {
        return event.created >= this.created - EVENT_RETENTION_S;
    }

    retrieveEvent(id: string): StripeEvent {
        const event = this.events.find((e) => e.id === id);
        if (!event || !this.retained(event)) throw noSuch('event', id);
        return event;
    }

    /** GET /v1/events: newest first; `type` (with `*` wildcards) or `types[]`, `created`, cursors; 30 days. */
    listEvents(query: Params): ApiList<StripeEvent> {
        const type = query.string('type');
        const types = query.strings('types');
        if (type && types) throw invalid('You cannot specify both `type` and `types`.', 'types');
        if (types && types.length > 20) throw invalid('You can specify up to 20 types.', 'types');
        const patterns = (types ?? (type ? [type] : [])).map((t) => new RegExp(`^${t.split('*').map(escapeRegExp).join('.*')}$`));
        const created = rangeFilter(query, 'created');
        let events = this.events.filter((e) => this.retained(e) && created(e.created) && (!patterns.length || patterns.some((p) => p.test(e.type))));
        events = events.reverse();
        return page(events, query, '/v1/events', (id) => this.retrieveEvent(id));
    }

    // ---------------------------------------------------------------- customers

    createCustomer(params: Params, context: ChangeContext): Customer {
        const email = params.string('email', { max: 512 });
        if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw invalid(`Invalid email address: ${email}`, 'email', 'email_invalid');
        const customer: Customer = {
            id: newId('cus', 14),
            object: 'customer',
            address: null,
            balance: 0,
            created: this.created,
            currency: null,
            default_source: null,
            delinquent: false,
            description: params.string('description') ?? null,
            email: email ?? null,
            invoice_prefix: randomBase62(8).toUpperCase(),
            livemode: false,
            metadata: params.metadata() ?? {},
            name: params.string('name') ?? null,
            phone: params.string('phone') ?? null,
            preferred_locales: [],
            shipping: null,
            tax_exempt: 'none',
            test_clock: null,
        };
        this.customers.set(customer.id, customer);
        this.emit('customer.created', customer, context);
        return customer;
    }

    retrieveCustomer(id: string): Customer {
        const customer = this.customers.get(id);
        if (!customer) throw noSuch('customer', id);
        return customer;
    }

    /** GET /v1/customers?email= — exact, case-sensitive, newest first. */
    listCustomers(query: Params): ApiList<Customer> {
        const email = query.string('email');
        const created = rangeFilter(query, 'created');
        const list = [...this.customers.values()].filter((c) => (email === undefined || c.email === email) && created(c.created)).reverse();
        return page(list, query, '/v1/customers', (id) => this.retrieveCustomer(id));
    }

    /** GET /v1/customers/search?query=email:'x' (also metadata['k']:'v'); joined with AND. */
    searchCustomers(query: Params): ApiList<Customer> & { next_page: null; total_count: number } {
        const text = query.string('query', { required: true })!;
        const clauses = text.split(/\s+AND\s+/i).map((clause) => {
            const match = /^(email|name|metadata\['([^']+)'\])\s*:\s*'([^']*)'$/.exec(clause.trim());
            if (!match) throw invalid(`Invalid search query: ${clause}`, 'query');
            return (c: Customer) => (match[2] ? c.metadata[match[2]] === match[3] : c[match[1] as 'email' | 'name'] === match[3]);
        });
        const found = [...this.customers.values()].filter((c) => clauses.every((test) => test(c))).reverse();
        const limit = query.int('limit', { min: 1, max: 100 }) ?? 10;
        return { object: 'list' as const, data: found.slice(0, limit), has_more: found.length > limit, url: '/v1/customers/search', next_page: null, total_count: found.length };
    }

    // ---------------------------------------------------------------- payment intents

    createPaymentIntent(params: Params, context: ChangeContext, origin?: { sessionId: string }): PaymentIntent {
        const amount = params.int('amount', { required: true })!;
        if (amount < 50) throw invalid('Amount must be at least 50 cents', 'amount', 'amount_too_small');
        if (amount > 99_999_999) throw invalid('Amount must be no more than 999,999.99', 'amount', 'amount_too_large');
        const currency = params.currency('currency', { required: true })!;
        const customer = params.string('customer');
        if (customer !== undefined) this.retrieveCustomer(customer);
        const automatic = params.nested('automatic_payment_methods', ['enabled', 'allow_redirects']);
        const types = params.strings('payment_method_types');
        if (automatic && types) {
            throw invalid('You may only specify one of these parameters: automatic_payment_methods, payment_method_types.', 'automatic_payment_methods');
        }
        const id = newId('pi');
        const intent: PaymentIntent = {
            id,
            object: 'payment_intent',
            amount,
            amount_capturable: 0,
            amount_details: { tip: {} },
            amount_received: 0,
            application: null,
            application_fee_amount: null,
            automatic_payment_methods: automatic
                ? { enabled: automatic.bool('enabled') ?? true, allow_redirects: automatic.oneOf('allow_redirects', ['always', 'never']) ?? 'always' }
                : types
                  ? null
                  : { enabled: true, allow_redirects: 'always' },
            canceled_at: null,
            cancellation_reason: null,
            capture_method: params.oneOf('capture_method', ['automatic', 'automatic_async', 'manual']) ?? 'automatic_async',
            client_secret: `${id}_secret_${randomBase62(25)}`,
            confirmation_method: params.oneOf('confirmation_method', ['automatic', 'manual']) ?? 'automatic',
            created: this.created,
            currency,
            customer: customer ?? null,
            description: params.string('description') ?? null,
            last_payment_error: null,
            latest_charge: null,
            livemode: false,
            metadata: params.metadata() ?? {},
            next_action: null,
            on_behalf_of: null,
            payment_method: null,
            payment_method_options: {},
            payment_method_types: types ?? ['card'],
            processing: null,
            receipt_email: params.string('receipt_email') ?? null,
            review: null,
            setup_future_usage: null,
            shipping: null,
            statement_descriptor: params.string('statement_descriptor', { max: 22 }) ?? null,
            statement_descriptor_suffix: params.string('statement_descriptor_suffix', { max: 22 }) ?? null,
            status: 'requires_payment_method',
            transfer_data: null,
            transfer_group: null,
        };
        const paymentMethod = params.string('payment_method');
        if (paymentMethod) {
            intent.payment_method = this.paymentMethodFor(paymentMethod, customer ?? null).id;
            intent.status = 'requires_confirmation';
        }
        this.paymentIntents.set(id, intent);
        this.intentState.set(id, origin ? { sessionId: origin.sessionId } : {});
        this.emit('payment_intent.created', intent, context);
        if (params.bool('confirm')) {
            if (!paymentMethod) throw missingParam('payment_method');
            return this.attempt(intent, intent.payment_method!, context);
        }
        return intent;
    }

    retrievePaymentIntent(id: string): PaymentIntent {
        const intent = this.paymentIntents.get(id);
        if (!intent) throw noSuch('payment_intent', id, 'intent');
        return intent;
    }

    confirmPaymentIntent(id: string, params: Params, context: ChangeContext): PaymentIntent {
        const intent = this.retrievePaymentIntent(id);
        if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(intent.status)) {
            throw unexpectedState(
                `This PaymentIntent's payment_method could not be updated because it has a status of ${intent.status}. You may only update the payment_method of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action.`,
            );
        }
        const paymentMethod = params.string('payment_method');
        if (paymentMethod) intent.payment_method = this.paymentMethodFor(paymentMethod, intent.customer).id;
        if (!intent.payment_method) {
            throw invalid(
                'You cannot confirm this PaymentIntent because it\'s missing a payment method. To confirm the PaymentIntent with cus_…, specify a payment method attached to this customer along with the customer ID.',
                'payment_method',
                'payment_intent_unexpected_state',
            );
        }
        const receiptEmail = params.string('receipt_email');
        if (receiptEmail) intent.receipt_email = receiptEmail;
        return this.attempt(intent, intent.payment_method, context);
    }

    /** The customer's answer to the 3-D Secure challenge (a test helper: real Stripe gets it from Stripe.js). */
    authenticatePaymentIntent(id: string, params: Params, context: ChangeContext): PaymentIntent {
        const intent = this.retrievePaymentIntent(id);
        const outcome = params.oneOf('outcome', ['succeed', 'fail']) ?? 'succeed';
        const state = this.intentState.get(id)!;
        if (intent.status !== 'requires_action' || !state.authenticating) {
            throw unexpectedState(`This PaymentIntent has a status of ${intent.status}; only one that requires_action can be authenticated.`);
        }
        const paymentMethod = state.authenticating;
        state.authenticating = undefined;
        intent.next_action = null;
        if (outcome === 'fail') {
            const pm = this.paymentMethods.get(paymentMethod)!;
            intent.status = 'requires_payment_method';
            intent.last_payment_error = {
                type: 'invalid_request_error',
                code: 'payment_intent_authentication_failure',
                message: 'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
                doc_url: docUrl('payment_intent_authentication_failure'),
                payment_method: structuredClone(pm),
            };
            intent.payment_method = null;
            this.emit('payment_intent.payment_failed', intent, context);
            return intent;
        }
        return this.succeed(intent, paymentMethod, context);
    }

    capturePaymentIntent(id: string, params: Params, context: ChangeContext): PaymentIntent {
        const intent = this.retrievePaymentIntent(id);
        if (intent.status !== 'requires_capture') {
            throw unexpectedState(
                `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
            );
        }
        const amount = params.int('amount_to_capture', { min: 1 }) ?? intent.amount_capturable;
        if (amount > intent.amount_capturable) {
            throw invalid(`The amount_to_capture (${amount}) must be less than or equal to the amount_capturable (${intent.amount_capturable}).`, 'amount_to_capture', 'amount_too_large');
        }
        const charge = this.charges.get(intent.latest_charge!)!;
        charge.captured = true;
        charge.amount_captured = amount;
        intent.amount_capturable = 0;
        intent.amount_received = amount;
        intent.status = 'succeeded';
        this.emit('charge.captured', charge, context);
        this.emit('payment_intent.succeeded', intent, context);
        return intent;
    }

    cancelPaymentIntent(id: string, params: Params, context: ChangeContext): PaymentIntent {
        const intent = this.retrievePaymentIntent(id);
        const reason = params.oneOf('cancellation_reason', ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']);
        const sessionId = this.intentState.get(id)?.sessionId;
        if (sessionId && this.sessions.get(sessionId)?.status === 'open') {
            throw unexpectedState(
                'This PaymentIntent was created by a Checkout Session and cannot be canceled directly. Expire the Checkout Session instead.',
            );
        }
        if (!['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'].includes(intent.status)) {
            throw unexpectedState(
                `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`,
            );
        }
        intent.status = 'canceled';
        intent.canceled_at = this.created;
        intent.cancellation_reason = reason ?? null;
        intent.amount_capturable = 0;
        intent.next_action = null;
        this.emit('payment_intent.canceled', intent, context);
        return intent;
    }

    /** A concrete payment method for a test one (`pm_card_visa` → a new `pm_…` remembering the card). */
    private paymentMethodFor(reference: string, customer: string | null): PaymentMethod {
        const existing = this.paymentMethods.get(reference);
        if (existing) return existing;
        const card = TEST_PAYMENT_METHODS[reference];
        if (!card) throw noSuch('PaymentMethod', reference, 'payment_method');
        const pm: PaymentMethod = {
            id: newId('pm'),
            object: 'payment_method',
            billing_details: { address: null, email: null, name: null, phone: null },
            card: { brand: card.brand, country: 'US', exp_month: 12, exp_year: new Date(this.options.now()).getUTCFullYear() + 3, funding: 'credit', last4: card.last4 },
            created: this.created,
            customer,
            livemode: false,
            metadata: {},
            type: 'card',
        };
        this.paymentMethods.set(pm.id, pm);
        this.cards.set(pm.id, card);
        return pm;
    }

    /** One charge attempt with the intent's payment method. */
    private attempt(intent: PaymentIntent, paymentMethod: string, context: ChangeContext): PaymentIntent {
        const card = this.cards.get(paymentMethod)!;
        intent.last_payment_error = null;
        if (card.outcome === 'decline') return this.decline(intent, paymentMethod, card, context);
        if (card.outcome === 'authenticate') {
            intent.status = 'requires_action';
            intent.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `${this.options.baseUrl()}/3ds/${intent.id}` } };
            this.intentState.get(intent.id)!.authenticating = paymentMethod;
            this.emit('payment_intent.requires_action', intent, context);
            return intent;
        }
        return this.succeed(intent, paymentMethod, context);
    }

    private newCharge(intent: PaymentIntent, paymentMethod: string, status: Charge['status'], captured: boolean): Charge {
        const pm = this.paymentMethods.get(paymentMethod)!;
        const charge: Charge = {
            id: newId('ch'),
            object: 'charge',
            amount: intent.amount,
            amount_captured: captured ? intent.amount : 0,
            amount_refunded: 0,
            balance_transaction: status === 'succeeded' ? newId('txn') : null,
            billing_details: pm.billing_details,
            captured,
            created: this.created,
            currency: intent.currency,
            customer: intent.customer,
            description: intent.description,
            disputed: false,
            failure_code: null,
            failure_message: null,
            livemode: false,
            // Stripe copies the PaymentIntent's metadata onto its charges.
            metadata: { ...intent.metadata },
            outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
            paid: status === 'succeeded',
            payment_intent: intent.id,
            payment_method: paymentMethod,
            payment_method_details: { card: pm.card, type: 'card' },
            receipt_email: intent.receipt_email,
            receipt_url: `${this.options.baseUrl()}/receipts/${intent.id}`,
            refunded: false,
            status,
        };
        this.charges.set(charge.id, charge);
        intent.latest_charge = charge.id;
        return charge;
    }

    private succeed(intent: PaymentIntent, paymentMethod: string, context: ChangeContext): PaymentIntent {
        const card = this.cards.get(paymentMethod)!;
        const manual = intent.capture_method === 'manual';
        const charge = this.newCharge(intent, paymentMethod, 'succeeded', !manual);
        intent.payment_method = paymentMethod;
        intent.next_action = null;
        this.emit('charge.succeeded', charge, context);
        if (manual) {
            intent.status = 'requires_capture';
            intent.amount_capturable = intent.amount;
            this.emit('payment_intent.amount_capturable_updated', intent, context);
        } else {
            intent.status = 'succeeded';
            intent.amount_received = intent.amount;
            this.emit('payment_intent.succeeded', intent, context);
        }
        const sessionId = this.intentState.get(intent.id)?.sessionId;
        if (sessionId) this.completeSession(sessionId, intent, context);
        if (card.outcome === 'dispute' || card.outcome === 'inquiry') this.openDispute(charge, card.outcome === 'inquiry', context);
        return intent;
    }

    private decline(intent: PaymentIntent, paymentMethod: string, card: TestCard, context: ChangeContext): never {
        const charge = this.newCharge(intent, paymentMethod, 'failed', false);
        const message = DECLINE_MESSAGES[card.declineCode!] ?? 'Your card was declined.';
        charge.failure_code = 'card_declined';
        charge.failure_message = message;
        charge.outcome = { network_status: 'declined_by_network', reason: card.declineCode!, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' };
        const error: LastPaymentError = {
            type: 'card_error',
            code: 'card_declined',
            decline_code: card.declineCode,
            message,
            doc_url: docUrl('card_declined'),
            charge: charge.id,
            payment_method: structuredClone(this.paymentMethods.get(paymentMethod)!),
        };
        intent.status = 'requires_payment_method';
        intent.last_payment_error = error;
        intent.payment_method = null;
        this.emit('charge.failed', charge, context);
        this.emit('payment_intent.payment_failed', intent, context);
        throw new StripeApiError(402, {
            type: 'card_error',
            code: 'card_declined',
            decline_code: card.declineCode,
            message,
            doc_url: docUrl('card_declined'),
            charge: charge.id,
            payment_intent: structuredClone(intent),
            payment_method: error.payment_method,
        });
    }

    private openDispute(charge: Charge, inquiry: boolean, context: ChangeContext): void {
        const dispute: Dispute = {
            id: newId('dp'),
            object: 'dispute',
            amount: charge.amount,
            balance_transactions: [],
            charge: charge.id,
            created: this.created,
            currency: charge.currency,
            is_charge_refundable: inquiry,
            livemode: false,
            metadata: {},
            payment_intent: charge.payment_intent,
            reason: inquiry ? 'general' : 'fraudulent',
            status: inquiry ? 'warning_needs_response' : 'needs_response',
        };
        this.disputes.set(dispute.id, dispute);
        charge.disputed = true;
        this.emit('charge.dispute.created', dispute, context);
    }

    // ---------------------------------------------------------------- checkout sessions

    createCheckoutSession(params: Params, context: ChangeContext): CheckoutSession {
        const mode = params.oneOf('mode', ['payment', 'setup', 'subscription'], { required: true });
        if (mode !== 'payment') throw invalid(`This fake only implements mode=payment (got ${mode}).`, 'mode');
        const items = params.list('line_items', ['price_data', 'price', 'quantity']);
        if (!items?.length) throw missingParam('line_items');
        const lineItems = items.map((item, i) => {
            if (item.has('price')) throw noSuch('price', item.string('price')!, `line_items[${i}][price]`);
            const data = item.nested('price_data', ['currency', 'unit_amount', 'product_data', 'product', 'tax_behavior']);
            if (!data) throw missingParam(`line_items[${i}][price_data]`);
            const product = data.nested('product_data', ['name', 'description', 'images', 'metadata']);
            if (!product) throw missingParam(`line_items[${i}][price_data][product_data]`);
            return {
                name: product.string('name', { required: true })!,
                currency: data.currency('currency', { required: true })!,
                unit_amount: data.int('unit_amount', { required: true, min: 0 })!,
                quantity: item.int('quantity', { required: true, min: 1 })!,
            } satisfies LineItem;
        });
        const currency = lineItems[0]!.currency;
        if (lineItems.some((l) => l.currency !== currency)) throw invalid('All line items must use the same currency.', 'line_items');
        const customer = params.string('customer');
        if (customer !== undefined) this.retrieveCustomer(customer);
        const customerEmail = params.string('customer_email');
        if (customer && customerEmail) throw invalid('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
        const created = this.created;
        const expiresAt = params.int('expires_at') ?? created + SESSION_MAX_LIFETIME_S;
        if (expiresAt - created < SESSION_MIN_LIFETIME_S) {
            throw invalid('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.', 'expires_at');
        }
        if (expiresAt - created > SESSION_MAX_LIFETIME_S) {
            throw invalid('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.', 'expires_at');
        }
        const successUrl = params.string('success_url');
        if (!successUrl) throw missingParam('success_url');
        const intentData = params.nested('payment_intent_data', ['metadata', 'description', 'capture_method', 'receipt_email', 'statement_descriptor']);
        const amount = lineItems.reduce((sum, l) => sum + l.unit_amount * l.quantity, 0);
        const id = `cs_test_${randomBase62(58)}`;
        const session: CheckoutSession = {
            id,
            object: 'checkout.session',
            after_expiration: null,
            allow_promotion_codes: null,
            amount_subtotal: amount,
            amount_total: amount,
            automatic_tax: { enabled: false, liability: null, status: null },
            billing_address_collection: null,
            cancel_url: params.string('cancel_url') ?? null,
            client_reference_id: params.string('client_reference_id', { max: 200 }) ?? null,
            client_secret: null,
            created,
            currency,
            customer: customer ?? null,
            customer_creation: customer ? null : 'if_required',
            customer_details: null,
            customer_email: customerEmail ?? null,
            expires_at: expiresAt,
            invoice: null,
            livemode: false,
            locale: null,
            metadata: params.metadata() ?? {},
            mode: 'payment',
            payment_intent: null,
            payment_link: null,
            payment_method_collection: 'if_required',
            payment_method_types: params.strings('payment_method_types') ?? ['card'],
            payment_status: 'unpaid',
            status: 'open',
            success_url: successUrl,
            total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
            ui_mode: 'hosted',
            url: `${this.options.baseUrl()}/c/pay/${id}`,
        };
        // Params stripe accepts that change nothing in the fake.
        params.strings('allowed_payment_method_types');
        this.sessions.set(id, session);
        this.sessionState.set(id, {
            lineItems,
            paymentIntentData: {
                metadata: intentData?.metadata() ?? {},
                description: intentData?.string('description'),
                captureMethod: intentData?.oneOf('capture_method', ['automatic', 'automatic_async', 'manual']) ?? 'automatic_async',
                receiptEmail: intentData?.string('receipt_email'),
            },
        });
        return session;
    }

    retrieveCheckoutSession(id: string): CheckoutSession {
        const session = this.sessions.get(id);
        if (!session) throw noSuch('checkout.session', id, 'session');
        return session;
    }

    lineItemsOf(id: string): LineItem[] {
        this.retrieveCheckoutSession(id);
        return this.sessionState.get(id)!.lineItems;
    }

    expireCheckoutSession(id: string, context: ChangeContext): CheckoutSession {
        const session = this.retrieveCheckoutSession(id);
        if (session.status !== 'open') {
            throw invalid(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`, 'session');
        }
        session.status = 'expired';
        session.url = null;
        if (session.payment_intent) {
            const intent = this.paymentIntents.get(session.payment_intent)!;
            if (intent.status !== 'succeeded' && intent.status !== 'canceled') {
                intent.status = 'canceled';
                intent.canceled_at = this.created;
                intent.cancellation_reason = 'abandoned';
                this.emit('payment_intent.canceled', intent, context);
            }
        }
        this.emit('checkout.session.expired', session, context);
        return session;
    }

    /** Open sessions past their `expires_at` expire (Stripe does this by itself). */
    expireDueSessions(): CheckoutSession[] {
        const due = [...this.sessions.values()].filter((s) => s.status === 'open' && s.expires_at <= this.created);
        return due.map((s) => this.expireCheckoutSession(s.id, AUTOMATIC));
    }

    /**
     * The customer pays on the hosted page (`POST /v1/payment_pages/:session/confirm`, as
     * `stripe trigger checkout.session.completed` does): the session's PaymentIntent is
     * created on the first attempt and confirmed with the given test payment method.
     */
    confirmPaymentPage(id: string, params: Params, context: ChangeContext): CheckoutSession {
        const session = this.retrieveCheckoutSession(id);
        if (session.status !== 'open' || session.expires_at <= this.created) {
            throw invalid(`This Checkout Session is no longer active (status ${session.status}).`, 'session', 'checkout_session_expired');
        }
        const paymentMethod = params.string('payment_method', { required: true })!;
        const email = params.string('email');
        const expected = params.int('expected_amount');
        if (expected !== undefined && expected !== session.amount_total) {
            throw invalid(`The expected amount ${expected} does not match the session's ${session.amount_total}.`, 'expected_amount');
        }
        let intent = session.payment_intent ? this.paymentIntents.get(session.payment_intent)! : undefined;
        if (!intent) {
            const state = this.sessionState.get(id)!;
            intent = this.createPaymentIntent(
                new Params(
                    {
                        amount: String(session.amount_total),
                        currency: session.currency,
                        ...(session.customer ? { customer: session.customer } : {}),
                        metadata: state.paymentIntentData.metadata,
                        capture_method: state.paymentIntentData.captureMethod,
                        ...(state.paymentIntentData.description ? { description: state.paymentIntentData.description } : {}),
                        ...(state.paymentIntentData.receiptEmail ? { receipt_email: state.paymentIntentData.receiptEmail } : {}),
                    },
                    ['amount', 'currency', 'customer', 'metadata', 'capture_method', 'description', 'receipt_email'],
                ),
                context,
                { sessionId: id },
            );
            session.payment_intent = intent.id;
        }
        if (email) session.customer_details = { address: null, email, name: null, phone: null, tax_exempt: 'none', tax_ids: [] };
        this.confirmPaymentIntent(intent.id, new Params({ payment_method: paymentMethod }, ['payment_method']), context);
        return session;
    }

    private completeSession(id: string, intent: PaymentIntent, context: ChangeContext): void {
        const session = this.sessions.get(id)!;
        if (session.status !== 'open') return;
        session.status = 'complete';
        session.payment_intent = intent.id;
        session.payment_status = intent.status === 'succeeded' ? 'paid' : 'unpaid';
        session.url = null;
        const email = session.customer_details?.email ?? session.customer_email ?? (session.customer ? this.customers.get(session.customer)?.email ?? null : null);
        session.customer_details = { address: null, email, name: null, phone: null, tax_exempt: 'none', tax_ids: [] };
        this.emit('checkout.session.completed', session, context);
    }

    // ---------------------------------------------------------------- charges and refunds

    retrieveCharge(id: string): Charge {
        const charge = this.charges.get(id);
        if (!charge) throw noSuch('charge', id, 'charge');
        return charge;
    }

    createRefund(params: Params, context: ChangeContext): Refund {
        const intentId = params.string('payment_intent');
        const chargeId = params.string('charge');
        if (!intentId && !chargeId) throw invalid('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent');
        let charge: Charge | undefined;
        if (intentId) {
            const intent = this.retrievePaymentIntent(intentId);
            charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
            if (!charge || intent.status !== 'succeeded') {
                throw invalid(`This PaymentIntent (${intentId}) does not have a successful charge to refund.`, 'payment_intent');
            }
        } else {
            charge = this.retrieveCharge(chargeId!);
        }
        if (!charge.captured || charge.status !== 'succeeded') throw invalid(`Charge ${charge.id} has not been captured.`, 'charge');
        const remaining = charge.amount_captured - charge.amount_refunded;
        if (remaining <= 0) throw invalid(`Charge ${charge.id} has already been refunded.`, 'charge', 'charge_already_refunded');
        const amount = params.int('amount', { min: 1 }) ?? remaining;
        if (amount > remaining) {
            throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, 'amount', 'amount_too_large');
        }
        const refund: Refund = {
            id: newId('re'),
            object: 'refund',
            amount,
            balance_transaction: newId('txn'),
            charge: charge.id,
            created: this.created,
            currency: charge.currency,
            metadata: params.metadata() ?? {},
            payment_intent: charge.payment_intent,
            reason: params.oneOf('reason', ['duplicate', 'fraudulent', 'requested_by_customer']) ?? null,
            receipt_number: null,
            source_transfer_reversal: null,
            status: 'succeeded',
            transfer_reversal: null,
        };
        this.refunds.set(refund.id, refund);
        const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
        charge.amount_refunded += amount;
        charge.refunded = charge.amount_refunded === charge.amount_captured;
        this.emit('refund.created', refund, context);
        this.emit('charge.refunded', charge, context, previous);
        return refund;
    }

    retrieveRefund(id: string): Refund {
        const refund = this.refunds.get(id);
        if (!refund) throw noSuch('refund', id);
        return refund;
    }

    retrieveDispute(id: string): Dispute {
        const dispute = this.disputes.get(id);
        if (!dispute) throw noSuch('dispute', id, 'dispute');
        return dispute;
    }

    /** Any object by id, for `expand[]`. */
    find(id: string): StripeObject | undefined {
        for (const map of [this.customers, this.paymentIntents, this.charges, this.refunds, this.disputes, this.sessions, this.paymentMethods] as Map<string, StripeObject>[]) {
            const found = map.get(id);
            if (found) return found;
        }
        return undefined;
    }
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `created=<n>` or `created[gt|gte|lt|lte]=<n>`. */
function rangeFilter(query: Params, key: string): (value: number) => boolean {
    if (!query.has(key)) return () => true;
    const raw = query.raw[key];
    if (typeof raw === 'string') {
        const exact = query.int(key)!;
        return (v) => v === exact;
    }
    const range = query.nested(key, ['gt', 'gte', 'lt', 'lte'])!;
    const gt = range.int('gt');
    const gte = range.int('gte');
    const lt = range.int('lt');
    const lte = range.int('lte');
    return (v) => (gt === undefined || v > gt) && (gte === undefined || v >= gte) && (lt === undefined || v < lt) && (lte === undefined || v <= lte);
}

/** Cursor pagination over a newest-first list: `limit` (1–100, default 10), `starting_after`, `ending_before`. */
function page<T extends { id: string }>(items: T[], query: Params, url: string, exists: (id: string) => unknown): ApiList<T> {
    const limit = query.int('limit', { min: 1, max: 100 }) ?? 10;
    const after = query.string('starting_after');
    const before = query.string('ending_before');
    let list = items;
    if (after) {
        exists(after);
        const index = list.findIndex((i) => i.id === after);
        list = index >= 0 ? list.slice(index + 1) : [];
        return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url };
    }
    if (before) {
        exists(before);
        const index = list.findIndex((i) => i.id === before);
        list = index >= 0 ? list.slice(0, index) : [];
        return { object: 'list', data: list.slice(Math.max(0, list.length - limit)), has_more: list.length > limit, url };
    }
    return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url };
}
