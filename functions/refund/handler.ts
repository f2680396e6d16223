// refund (verify_jwt; finance or admin staff signed in with MFA): request_refund as the
// caller — the SQL API checks the role, aal2 and that the amount is still refundable,
// and writes the refund row with its outbox message in one transaction — then sends
// that message to Stripe right away (the Stripe outbox worker, keyed by the refund
// row's idempotency key). Stripe unreachable: the refund stays pending and the
// scheduled stripe-outbox job sends it later. Stripe's events confirm it.
import { RefundRequest, type RefundResponse } from '../../sdk/src/contract/index.ts';
import { signedInUser } from '../_shared/caller.ts';
import { apiError, errorResponse, parseInput, sqlFailure } from '../_shared/errors.ts';
import { json, preflight, readJson } from '../_shared/http.ts';
import type { UserClientFactory } from '../_shared/user-client.ts';
import { runStripeOutbox, type StripeOutboxDeps } from '../stripe-outbox/worker.ts';

export interface RefundDeps extends StripeOutboxDeps {
    userClient: UserClientFactory;
}

const MONEY_ROLES = ['finance', 'admin'];

export async function handle(request: Request, deps: RefundDeps): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    const log = deps.log.with({ request_id: request.headers.get('x-request-id') ?? undefined });
    try {
        if (request.method !== 'POST') throw apiError('invalid_argument', 'refund accepts POST only');
        const caller = signedInUser(request);
        const input = parseInput(RefundRequest, await readJson(request));
        // The database decides (42501 below); this only gives staff without MFA the clearer code.
        if (MONEY_ROLES.includes(caller.staffRole ?? '') && caller.aal !== 'aal2') {
            throw apiError('mfa_required', 'Refunds need a session raised to aal2 (MFA)');
        }

        const { data, error } = await deps.userClient(caller.token).rpc('request_refund', {
            p_order_id: input.order_id,
            p_amount: input.amount,
            ...(input.reason ? { p_reason: input.reason } : {}),
            ...(input.idempotency_key ? { p_idempotency_key: input.idempotency_key } : {}),
        });
        if (error) {
            const mapped = sqlFailure(error);
            if (mapped) throw mapped;
            throw apiError('unavailable', 'The shop is briefly unavailable; retry', { reason: error.message });
        }
        const refund = data as unknown as { id: string };
        const refundLog = log.with({ refund_id: refund.id, order_id: input.order_id });
        refundLog.info('refund requested', { amount: input.amount, by: caller.userId });

        // Send it now; a failure here leaves it to the scheduled worker.
        await runStripeOutbox({ ...deps, log: refundLog }, { topics: ['stripe.refund.create'], limit: 10, worker: 'refund' }).catch((e: unknown) =>
            refundLog.warn('refund left to the stripe-outbox job', { error: e }),
        );
        const { rows } = await deps.db.query<RefundResponse & { amount: string; refund_id: string }>(
            'select id as refund_id, order_id, amount::text, currency, status, stripe_refund_id from public.refunds where id = $1',
            [refund.id],
        );
        const row = rows[0]!;
        return json({ ...row, amount: Number(row.amount) } satisfies RefundResponse);
    } catch (error) {
        return errorResponse(error, log);
    }
}
