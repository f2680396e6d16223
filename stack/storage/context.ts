// What every Storage operation is given: the database, the blob store, the URL signer, the
// settings, the clock and the logger — one object, so operations stay plain functions.
import type { BlobStore } from './blobs.js';
import type { Database, RequestContext } from './database.js';
import type { Identity } from './identity.js';
import type { StorageSettings } from './settings.js';
import type { Clock, UrlSigner } from './signing.js';

export interface LogEntry {
    level: 'info' | 'warn' | 'error';
    msg: string;
    [key: string]: unknown;
}

export interface StorageContext {
    db: Database;
    blobs: BlobStore;
    signer: UrlSigner;
    settings: StorageSettings;
    clock: Clock;
    log: (entry: LogEntry) => void;
}

/** One call: who asks, and the request context its transactions carry. */
export interface Call {
    identity: Identity;
    request: RequestContext;
}
