import { it } from 'vitest';
import { useTestDatabase } from '../harness/db.js';
import { probeIsolation } from '../harness/isolation-probe.js';

const db = useTestDatabase();

it('file B has its own database and never sees file A writes', () => probeIsolation(db, 'written by file B'));
