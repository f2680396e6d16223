// `npm run ops -- outbox`: per topic lag, due, waiting for a retry, in flight, dead, done.
import { describe, expect, it } from 'vitest';
import { OUTBOX_STATS_SQL, renderOutboxStats, type OutboxTopicStats } from '../../../scripts/ops.ts';
import { useTestDatabase } from '../../harness/db.js';

const db = useTestDatabase();

describe('ops outbox', () => {
    it('counts each topic\'s messages by state and the age of its oldest unfinished one', async () => {
        await db.query(
            `insert into private.outbox (topic, aggregate_type, idempotency_key, status, attempts, next_attempt_at, locked_until, created_at)
             values ('email.order_confirmation', 'order', 'ops-1', 'pending', 0, now() - interval '1 minute', null, now() - interval '90 seconds'),
                    ('email.order_confirmation', 'order', 'ops-2', 'pending', 1, now() + interval '1 minute', null, now() - interval '10 seconds'),
                    ('email.order_confirmation', 'order', 'ops-3', 'processing', 1, now(), now() + interval '1 minute', now()),
                    ('erp.order.upsert', 'order', 'ops-4', 'dead', 8, now(), null, now()),
                    ('erp.order.upsert', 'order', 'ops-5', 'done', 1, now(), null, now())`,
        );
        const rows = await db.query<OutboxTopicStats & Record<string, unknown>>(OUTBOX_STATS_SQL);
        expect(rows).toEqual([
            { topic: 'email.order_confirmation', lag_seconds: expect.closeTo(90, 0), due: 1, waiting: 1, in_flight: 1, dead: 0, done: 0 },
            { topic: 'erp.order.upsert', lag_seconds: null, due: 0, waiting: 0, in_flight: 0, dead: 1, done: 1 },
        ]);
        const table = renderOutboxStats(rows).split('\n');
        expect(table[0]).toMatch(/^topic\s+lag\s+due\s+waiting\s+in flight\s+dead\s+done$/);
        expect(table[2]).toMatch(/^erp\.order\.upsert\s+-\s+0\s+0\s+0\s+1\s+1$/);
        expect(renderOutboxStats([])).toBe('the outbox is empty');
    });
});
