// The one interface every ERP adapter implements, the order document the shop sends,
// and the one error type adapters throw: retryable (the same call may succeed later)
// or permanent (the ERP will refuse it however often it is sent: dead-letter it).

export interface ErpOrderLine {
    sku: string;
    name: string;
    quantity: number;
    /** Minor units, in the order's currency. */
    unit_price_amount: number;
    line_total_amount: number;
}

/** An order as the ERP is told about it (amounts in minor units). */
export interface ErpOrder {
    id: string;
    /** Our order number (TB-000123): the ERP's client reference, what makes retries idempotent. */
    number: string;
    version: number;
    status: string;
    payment_status: string;
    fulfillment_status: string;
    currency: string;
    subtotal_amount: number;
    discount_amount: number;
    shipping_amount: number;
    tax_amount: number;
    total_amount: number;
    email: string;
    customer_name: string;
    tracking_number: string | null;
    shipping_address: Record<string, unknown> | null;
    placed_at: string;
    lines: ErpOrderLine[];
}

export interface ErpDocument {
    /** The ERP's id of the order document (stored in erp_links). */
    erp_document_id: string;
    /** The ERP's human reference (Odoo: S00042), when it has one. */
    reference?: string;
    state?: string;
}

export interface ErpOrderStatus {
    erp_document_id: string;
    state: string;
}

export interface ErpStockLevel {
    sku: string;
    on_hand: number;
}

export interface CallOptions {
    /** Aborts the whole operation (the worker's deadline for this message). */
    signal?: AbortSignal;
}

export interface ErpAdapter {
    readonly name: string;
    /** Creates or updates the order in the ERP; safe to repeat (same order → same document). */
    upsertOrder(order: ErpOrder, options: CallOptions & { idempotencyKey: string }): Promise<ErpDocument>;
    getOrderStatus(orderNumber: string, options?: CallOptions): Promise<ErpOrderStatus | null>;
    listStock(options?: CallOptions): Promise<ErpStockLevel[]>;
}

export class ErpError extends Error {
    constructor(
        message: string,
        /** True when the same call may succeed later (network, timeout, 5xx, 429, auth being fixed). */
        readonly retryable: boolean,
        /** The ERP's HTTP status, when it answered. */
        readonly status?: number,
    ) {
        super(message);
        this.name = 'ErpError';
    }

    /**
     * The ERP answered with a transient error (5xx, 429): it has finished with the request, so
     * looking up what exists now shows whether it was carried out. (A timeout or a dropped
     * connection is not this: the ERP may still be working on it.)
     */
    get transientAnswer(): boolean {
        return this.status !== undefined && (this.status >= 500 || this.status === 429);
    }
}

/**
 * Runs an ERP operation again at once, a few times with a short jittered pause, before the
 * whole message is failed — so a flaky ERP costs milliseconds, not a backoff of the message:
 *  - after a transient answer (see `transientAnswer`), when the operation is safe to run
 *    again once the ERP is done with the last try: a read, a write with an Idempotency-Key,
 *    or a whole upsert that starts by looking up what exists;
 *  - after a timeout or a lost connection only when `safeToRepeat` (a read, or a write the
 *    ERP de-duplicates by key): the ERP may still be carrying the last try out, so an
 *    operation that looks first could miss it and do it twice. Such failures go to the
 *    message's backoff instead, and a later attempt looks.
 */
export async function retryTransient<T>(call: () => Promise<T>, options: { signal?: AbortSignal; safeToRepeat: boolean; tries?: number }): Promise<T> {
    const tries = options.tries ?? 5;
    for (let attempt = 1; ; attempt++) {
        try {
            return await call();
        } catch (error) {
            const repeatable = error instanceof ErpError && (error.transientAnswer || (options.safeToRepeat && error.retryable && error.status === undefined));
            if (!repeatable || attempt >= tries || options.signal?.aborted) throw error;
            const pause = 25 * 2 ** attempt * (0.5 + Math.random() / 2);
            await new Promise((resolve) => setTimeout(resolve, pause));
        }
    }
}

/**
 * What an HTTP status from an ERP means for a retry: 5xx/429 are transient; 401/403 are
 * configuration (key, rights) that an operator fixes, so they back off and retry until the
 * last attempt; 400/404/409/422 are the request itself and will fail again: permanent.
 */
export function retryableStatus(status: number): boolean {
    return status >= 500 || status === 429 || status === 401 || status === 403 || status === 408;
}

/** fetch with a per-call timeout on top of the caller's signal; network failures become retryable ErpErrors. */
export async function erpFetch(
    fetcher: typeof fetch,
    url: string,
    init: RequestInit,
    timeoutMs: number,
    signal?: AbortSignal,
): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
        return await fetcher(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (error) {
        if (timeout.aborted) throw new ErpError(`ERP call timed out after ${timeoutMs} ms (${url})`, true);
        if (signal?.aborted) throw new ErpError(`ERP call aborted: the message's deadline passed (${url})`, true);
        throw new ErpError(`ERP unreachable: ${(error as Error).message} (${url})`, true);
    }
}

/** The response body as JSON; anything else (an HTML error page from a proxy) is retryable. */
export async function readErpJson(response: Response, what: string): Promise<unknown> {
    const text = await response.text();
    try {
        return JSON.parse(text);
    } catch {
        throw new ErpError(`${what}: the ERP answered ${response.status} with a body that is not JSON`, retryableStatus(response.status) || response.ok);
    }
}
