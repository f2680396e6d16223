// stripe-outbox (scheduled every 10 seconds, service role): one batch of the Stripe
// outbox topics — refunds to create, payments to cancel. See worker.ts.
import { z } from 'zod';
import { requireServiceRole } from '../_shared/service-role.ts';
import { errorResponse, parseInput } from '../_shared/errors.ts';
import { json, preflight, readJson } from '../_shared/http.ts';
import { runStripeOutbox, STRIPE_TOPICS, type StripeOutboxDeps } from './worker.ts';

const Input = z
    .object({
        batch: z.number().int().min(1).max(100).default(20),
        topics: z.array(z.enum(STRIPE_TOPICS)).min(1).optional(),
    })
    .strict();

export async function handle(request: Request, deps: StripeOutboxDeps & { serviceKeys: readonly string[] }): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    const log = deps.log.with({ request_id: request.headers.get('x-request-id') ?? undefined });
    try {
        requireServiceRole(request, deps.serviceKeys);
        const input = parseInput(Input, await readJson(request));
        const processed = await runStripeOutbox({ ...deps, log }, { topics: input.topics, limit: input.batch, worker: `stripe-outbox:${request.headers.get('x-request-id') ?? 'run'}` });
        return json({ processed });
    } catch (error) {
        return errorResponse(error, log);
    }
}
