// Staff inputs of the SQL API rpc calls the SDK makes (docs/data-model.md): order search,
// fulfilment and inventory adjustments. Statuses and kinds are the schema's enums.
import { z } from 'zod';

/** The fulfilment steps staff may set (`set_fulfillment_status`: forward only). */
export const FulfilmentStep = z.enum(['picking', 'shipped', 'delivered']);
export type FulfilmentStep = z.infer<typeof FulfilmentStep>;

/** The movements staff may record (`adjust_inventory`): receipts and returns add stock, adjustments ±. */
export const AdjustmentKind = z.enum(['receipt', 'adjustment', 'return']);
export type AdjustmentKind = z.infer<typeof AdjustmentKind>;

export const AdjustInventoryInput = z
    .object({
        variant_id: z.uuid(),
        /** Units to add (negative: to remove, adjustments only). */
        quantity: z.number().int().refine((q) => q !== 0, 'must not be 0'),
        reason: z.string().trim().min(1).max(500),
        kind: AdjustmentKind.optional(),
    })
    .strict();
export type AdjustInventoryInput = z.infer<typeof AdjustInventoryInput>;

export const FulfilRequest = z
    .object({
        order_id: z.uuid(),
        status: FulfilmentStep,
        tracking_number: z.string().trim().min(1).max(200).optional(),
    })
    .strict();
export type FulfilRequest = z.infer<typeof FulfilRequest>;
