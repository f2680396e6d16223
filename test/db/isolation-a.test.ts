import { it } from 'vitest';
import { useTestDatabase } from '../harness/db.js';
import { probeIsolation } from '../harness/isolation-probe.js';

const db = useTestDatabase();

it('file A has its own database and never sees file B writes', () => probeIsolation(db, 'written by file A'));
