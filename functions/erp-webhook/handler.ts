// erp-webhook: the ERP pushes stock levels and prices. The request is trusted only with a
// valid signature over its raw body (Standard Webhooks: id + timestamp + body, HMAC-SHA256,
// ±300 s); it is applied in one transaction together with its message id, so a replayed
// delivery changes nothing (answered 200 `duplicate`, so the ERP stops retrying). Stock
// goes through the inventory ledger (a count below the reservations is recorded as a
// conflict for staff, never applied past them); prices update the catalogue only, never
// placed orders (their lines are snapshots).
import { z } from 'zod';
import type { Db } from '../_shared/db.ts';
import { SIGNATURE_TOLERANCE_SECONDS, verifyErpWebhook } from '../_shared/erp/webhook-signature.ts';
import { errorResponse, parseInput, rethrowSqlApiError } from '../_shared/errors.ts';
import { HttpError, json, preflight } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';

export interface ErpWebhookDeps {
    db: Db;
    secret: string;
    clock: () => Date;
    log: Logger;
}

const MAX_BODY_BYTES = 1024 * 1024;

export const ErpWebhookBody = z
    .object({
        /** When the ERP observed these values (default: the signature's timestamp). */
        observed_at: z.string().datetime({ offset: true }).optional(),
        stock: z.array(z.object({ sku: z.string().min(1).max(64), on_hand: z.number().int().min(0).max(1_000_000_000) }).strict()).max(10_000).default([]),
        prices: z
            .array(z.object({ sku: z.string().min(1).max(64), price_amount: z.number().int().min(0).max(1e12), currency: z.string().regex(/^[A-Za-z]{3}$/) }).strict())
            .max(10_000)
            .default([]),
    })
    .strict()
    .refine((body) => body.stock.length + body.prices.length > 0, { message: 'stock or prices must have at least one line', path: ['stock'] });

export type ErpWebhookBody = z.input<typeof ErpWebhookBody>;

export async function handle(request: Request, deps: ErpWebhookDeps): Promise<Response> {
    const early = preflight(request);
    if (early) return early;
    try {
        if (request.method !== 'POST') throw new HttpError(405, 'invalid_argument', 'POST only');
        const raw = await request.text();
        if (raw.length > MAX_BODY_BYTES) throw new HttpError(413, 'invalid_argument', 'The body is larger than 1 MB');
        const now = deps.clock();
        const check = await verifyErpWebhook(deps.secret, request.headers, raw, now);
        if (!check.ok) {
            deps.log.warn('erp webhook refused', { reason: check.reason });
            throw new HttpError(401, 'unauthenticated', `Webhook signature check failed: ${check.reason}`);
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            throw new HttpError(400, 'invalid_argument', 'The body is not valid JSON');
        }
        const body = parseInput(ErpWebhookBody, parsed);
        const observedAt = body.observed_at ? new Date(body.observed_at) : new Date(check.timestamp * 1000);
        // A count "from the future" would make every real later count look stale.
        if (observedAt.getTime() > now.getTime() + SIGNATURE_TOLERANCE_SECONDS * 1000) {
            throw new HttpError(400, 'invalid_argument', 'observed_at: lies in the future');
        }
        const { rows } = await deps.db.query<{ outcome: Record<string, unknown> }>(
            'select public.apply_erp_message($1, $2, $3, $4) as outcome',
            [`webhook:${check.id}`, 'webhook', observedAt, { stock: body.stock, prices: body.prices }],
        ).catch(rethrowSqlApiError);
        const outcome = rows[0]!.outcome;
        deps.log.info('erp webhook applied', { message_id: check.id, status: outcome.status });
        return json(outcome);
    } catch (error) {
        return errorResponse(error, deps.log);
    }
}
