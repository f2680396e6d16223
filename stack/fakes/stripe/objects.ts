// The Stripe objects the fake keeps, in the shapes of Stripe's API (the fields clients
// read; see `stripe` 23's resources/*.d.ts for the full ones). Amounts are integer minor
// units, currencies lower case, times unix seconds.

export type Metadata = Record<string, string>;

export interface Customer {
    id: string;
    object: 'customer';
    address: null;
    balance: number;
    created: number;
    currency: string | null;
    default_source: null;
    delinquent: boolean;
    description: string | null;
    email: string | null;
    invoice_prefix: string;
    livemode: false;
    metadata: Metadata;
    name: string | null;
    phone: string | null;
    preferred_locales: string[];
    shipping: null;
    tax_exempt: 'none';
    test_clock: null;
}

export type PaymentIntentStatus =
    | 'requires_payment_method'
    | 'requires_confirmation'
    | 'requires_action'
    | 'processing'
    | 'requires_capture'
    | 'succeeded'
    | 'canceled';

export interface LastPaymentError {
    type: 'card_error' | 'invalid_request_error';
    code: string;
    decline_code?: string;
    message: string;
    doc_url: string;
    charge?: string;
    payment_method: PaymentMethod | null;
}

export interface PaymentIntent {
    id: string;
    object: 'payment_intent';
    amount: number;
    amount_capturable: number;
    amount_details: { tip: Record<string, never> };
    amount_received: number;
    application: null;
    application_fee_amount: null;
    automatic_payment_methods: { allow_redirects: 'always' | 'never'; enabled: boolean } | null;
    canceled_at: number | null;
    cancellation_reason: string | null;
    capture_method: 'automatic' | 'automatic_async' | 'manual';
    client_secret: string;
    confirmation_method: 'automatic' | 'manual';
    created: number;
    currency: string;
    customer: string | null;
    description: string | null;
    last_payment_error: LastPaymentError | null;
    latest_charge: string | null;
    livemode: false;
    metadata: Metadata;
    next_action: { type: 'use_stripe_sdk'; use_stripe_sdk: { type: 'three_d_secure_redirect'; stripe_js: string } } | null;
    on_behalf_of: null;
    payment_method: string | null;
    payment_method_options: Record<string, unknown>;
    payment_method_types: string[];
    processing: null;
    receipt_email: string | null;
    review: null;
    setup_future_usage: null;
    shipping: null;
    statement_descriptor: string | null;
    statement_descriptor_suffix: string | null;
    status: PaymentIntentStatus;
    transfer_data: null;
    transfer_group: null;
}

export interface PaymentMethod {
    id: string;
    object: 'payment_method';
    billing_details: { address: null; email: string | null; name: string | null; phone: null };
    card: { brand: string; country: 'US'; exp_month: number; exp_year: number; funding: 'credit'; last4: string };
    created: number;
    customer: string | null;
    livemode: false;
    metadata: Metadata;
    type: 'card';
}

export interface Charge {
    id: string;
    object: 'charge';
    amount: number;
    amount_captured: number;
    amount_refunded: number;
    balance_transaction: string | null;
    billing_details: PaymentMethod['billing_details'];
    captured: boolean;
    created: number;
    currency: string;
    customer: string | null;
    description: string | null;
    disputed: boolean;
    failure_code: string | null;
    failure_message: string | null;
    livemode: false;
    metadata: Metadata;
    outcome: { network_status: string; reason: string | null; risk_level: 'normal'; seller_message: string; type: string };
    paid: boolean;
    payment_intent: string;
    payment_method: string;
    payment_method_details: { card: PaymentMethod['card']; type: 'card' };
    receipt_email: string | null;
    receipt_url: string;
    refunded: boolean;
    status: 'succeeded' | 'pending' | 'failed';
}

export interface Refund {
    id: string;
    object: 'refund';
    amount: number;
    balance_transaction: string | null;
    charge: string;
    created: number;
    currency: string;
    failure_reason?: string;
    metadata: Metadata;
    payment_intent: string;
    reason: string | null;
    receipt_number: null;
    source_transfer_reversal: null;
    status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
    transfer_reversal: null;
}

export interface Dispute {
    id: string;
    object: 'dispute';
    amount: number;
    balance_transactions: unknown[];
    charge: string;
    created: number;
    currency: string;
    is_charge_refundable: boolean;
    livemode: false;
    metadata: Metadata;
    payment_intent: string;
    reason: 'fraudulent' | 'general';
    status: 'needs_response' | 'warning_needs_response' | 'won' | 'lost' | 'warning_closed';
}

export interface LineItem {
    name: string;
    currency: string;
    unit_amount: number;
    quantity: number;
}

export interface CheckoutSession {
    id: string;
    object: 'checkout.session';
    after_expiration: null;
    allow_promotion_codes: null;
    amount_subtotal: number;
    amount_total: number;
    automatic_tax: { enabled: false; liability: null; status: null };
    billing_address_collection: null;
    cancel_url: string | null;
    client_reference_id: string | null;
    client_secret: null;
    created: number;
    currency: string;
    customer: string | null;
    customer_creation: 'if_required' | null;
    customer_details: { address: null; email: string | null; name: string | null; phone: null; tax_exempt: 'none'; tax_ids: [] } | null;
    customer_email: string | null;
    expires_at: number;
    invoice: null;
    livemode: false;
    locale: null;
    metadata: Metadata;
    mode: 'payment';
    payment_intent: string | null;
    payment_link: null;
    payment_method_collection: 'if_required';
    payment_method_types: string[];
    payment_status: 'paid' | 'unpaid' | 'no_payment_required';
    status: 'open' | 'complete' | 'expired';
    success_url: string | null;
    total_details: { amount_discount: number; amount_shipping: number; amount_tax: number };
    ui_mode: 'hosted';
    url: string | null;
}

export type StripeObject = Customer | PaymentIntent | PaymentMethod | Charge | Refund | Dispute | CheckoutSession;

export interface StripeEvent {
    id: string;
    object: 'event';
    api_version: string;
    created: number;
    data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
    livemode: false;
    pending_webhooks: number;
    request: { id: string | null; idempotency_key: string | null };
    type: string;
}

export interface ApiList<T> {
    object: 'list';
    data: T[];
    has_more: boolean;
    url: string;
}
