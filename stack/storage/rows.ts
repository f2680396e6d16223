// The SQL over storage.buckets and storage.objects, one function per statement. Each runs
// with whatever identity the transaction carries (see database.ts): the same statement is
// a policy check as a user and a plain lookup as the service role.
import type { Query } from './database.js';

export interface BucketRow {
    id: string;
    name: string;
    owner: string | null;
    owner_id: string | null;
    public: boolean;
    file_size_limit: number | null;
    allowed_mime_types: string[] | null;
    type: string;
    created_at: string;
    updated_at: string;
}

/** What Storage keeps in objects.metadata (the system half; user metadata is separate). */
export interface ObjectMetadata {
    eTag: string;
    size: number;
    mimetype: string;
    cacheControl: string;
    lastModified: string;
    contentLength: number;
    httpStatusCode: number;
}

export interface ObjectRow {
    id: string;
    bucket_id: string;
    name: string;
    owner: string | null;
    owner_id: string | null;
    version: string | null;
    metadata: ObjectMetadata | null;
    user_metadata: Record<string, unknown> | null;
    created_at: string;
    updated_at: string;
    last_accessed_at: string;
}

const BUCKET_COLUMNS = `id, name, owner, owner_id, public, file_size_limit::int8::text as file_size_limit, allowed_mime_types, type::text as type,
    to_json(created_at) #>> '{}' as created_at, to_json(updated_at) #>> '{}' as updated_at`;

const OBJECT_COLUMNS = `id, bucket_id, name, owner, owner_id, version, metadata, user_metadata,
    to_json(created_at) #>> '{}' as created_at, to_json(updated_at) #>> '{}' as updated_at,
    to_json(last_accessed_at) #>> '{}' as last_accessed_at`;

/** file_size_limit comes back as text (int8); numbers in JSON, as Storage answers. */
function bucketOf(row: BucketRow): BucketRow {
    return { ...row, file_size_limit: row.file_size_limit === null ? null : Number(row.file_size_limit) };
}

// ── buckets ─────────────────────────────────────────────────────────────────────────

export async function findBucket(q: Query, id: string): Promise<BucketRow | undefined> {
    const [row] = await q<BucketRow>(`select ${BUCKET_COLUMNS} from storage.buckets where id = $1`, [id]);
    return row && bucketOf(row);
}

export interface BucketListOptions {
    limit?: number;
    offset?: number;
    sortColumn?: 'id' | 'name' | 'created_at' | 'updated_at';
    sortOrder?: 'asc' | 'desc';
    search?: string;
}

export async function listBuckets(q: Query, options: BucketListOptions): Promise<BucketRow[]> {
    const params: unknown[] = [];
    let sql = `select ${BUCKET_COLUMNS} from storage.buckets`;
    if (options.search) {
        params.push(`%${options.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
        sql += ` where name ilike $${params.length}`;
    }
    sql += ` order by ${options.sortColumn ?? 'name'} ${options.sortOrder === 'desc' ? 'desc' : 'asc'}`;
    if (options.limit !== undefined) {
        params.push(options.limit);
        sql += ` limit $${params.length}`;
    }
    if (options.offset !== undefined) {
        params.push(options.offset);
        sql += ` offset $${params.length}`;
    }
    return (await q<BucketRow>(sql, params)).map(bucketOf);
}

export interface NewBucket {
    id: string;
    name: string;
    owner: string | null;
    ownerId: string | null;
    public: boolean;
    fileSizeLimit: number | null;
    allowedMimeTypes: string[] | null;
    type: string;
}

export async function insertBucket(q: Query, bucket: NewBucket): Promise<void> {
    await q(
        `insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types, type)
         values ($1, $2, $3, $4, $5, $6, $7, $8::storage.buckettype)`,
        [bucket.id, bucket.name, bucket.owner, bucket.ownerId, bucket.public, bucket.fileSizeLimit, bucket.allowedMimeTypes, bucket.type],
    );
}

export interface BucketChanges {
    public?: boolean;
    fileSizeLimit?: number | null;
    allowedMimeTypes?: string[] | null;
}

/** Number of buckets changed (0: missing or hidden by RLS). */
export async function updateBucket(q: Query, id: string, changes: BucketChanges): Promise<number> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
        params.push(value);
        sets.push(`${column} = $${params.length}`);
    };
    if (changes.public !== undefined) set('public', changes.public);
    if (changes.fileSizeLimit !== undefined) set('file_size_limit', changes.fileSizeLimit);
    if (changes.allowedMimeTypes !== undefined) set('allowed_mime_types', changes.allowedMimeTypes);
    return (await q(`update storage.buckets set ${sets.join(', ')} where id = $1 returning id`, params)).length;
}

export async function deleteBucket(q: Query, id: string): Promise<number> {
    return (await q(`delete from storage.buckets where id = $1 returning id`, [id])).length;
}

export async function bucketHasObjects(q: Query, id: string): Promise<boolean> {
    return (await q(`select 1 from storage.objects where bucket_id = $1 limit 1`, [id])).length > 0;
}

// ── objects ─────────────────────────────────────────────────────────────────────────

export async function findObject(q: Query, bucketId: string, name: string, options: { forUpdate?: boolean } = {}): Promise<ObjectRow | undefined> {
    const [row] = await q<ObjectRow>(
        `select ${OBJECT_COLUMNS} from storage.objects where bucket_id = $1 and name = $2${options.forUpdate ? ' for update' : ''}`,
        [bucketId, name],
    );
    return row;
}

export interface ObjectWrite {
    bucketId: string;
    name: string;
    owner: string | null;
    ownerId: string | null;
    version: string;
    metadata: ObjectMetadata | Record<string, unknown>;
    userMetadata: Record<string, unknown> | null;
}

/**
 * The insert a new upload is (as the caller: only the INSERT policy decides — no RETURNING,
 * which would also need SELECT, as uploading does not on Supabase).
 */
export async function insertObject(q: Query, o: ObjectWrite): Promise<void> {
    await q(
        `insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [o.bucketId, o.name, o.owner, o.ownerId, o.version, o.metadata, o.userMetadata],
    );
}

/** A new row, returned (the service role's commit of a non-upsert upload; 23505 if it exists). */
export async function createObject(q: Query, o: ObjectWrite): Promise<ObjectRow> {
    const [row] = await q<ObjectRow>(
        `insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning ${OBJECT_COLUMNS}`,
        [o.bucketId, o.name, o.owner, o.ownerId, o.version, o.metadata, o.userMetadata],
    );
    return row!;
}

/** Serialises writers of one object until the transaction ends (Storage's object lock). */
export async function lockObject(q: Query, bucketId: string, name: string): Promise<void> {
    await q(`select pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))`, [bucketId, name]);
}

/** Insert or overwrite (as the caller: INSERT, and SELECT + UPDATE on an existing row). */
export async function upsertObject(q: Query, o: ObjectWrite): Promise<ObjectRow> {
    const [row] = await q<ObjectRow>(
        `insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (bucket_id, name) do update set
             owner = excluded.owner, owner_id = excluded.owner_id, version = excluded.version,
             metadata = excluded.metadata, user_metadata = excluded.user_metadata,
             last_accessed_at = now()
         returning ${OBJECT_COLUMNS}`,
        [o.bucketId, o.name, o.owner, o.ownerId, o.version, o.metadata, o.userMetadata],
    );
    return row!;
}

export interface ObjectRename {
    bucketId: string;
    name: string;
    toBucketId: string;
    toName: string;
    version: string | null;
    owner?: { owner: string | null; ownerId: string | null };
    metadata?: ObjectMetadata;
}

/** Moves a row (as the caller: UPDATE's USING on the source, WITH CHECK on the destination). */
export async function renameObject(q: Query, r: ObjectRename): Promise<ObjectRow | undefined> {
    const [row] = await q<ObjectRow>(
        `update storage.objects set bucket_id = $3, name = $4, version = $5,
             owner = case when $6::boolean then $7::uuid else owner end,
             owner_id = case when $6::boolean then $8 else owner_id end,
             metadata = coalesce($9::jsonb, metadata)
         where bucket_id = $1 and name = $2
         returning ${OBJECT_COLUMNS}`,
        [r.bucketId, r.name, r.toBucketId, r.toName, r.version, r.owner !== undefined, r.owner?.owner ?? null, r.owner?.ownerId ?? null, r.metadata ?? null],
    );
    return row;
}

export async function deleteObjects(q: Query, bucketId: string, names: string[]): Promise<ObjectRow[]> {
    return q<ObjectRow>(`delete from storage.objects where bucket_id = $1 and name = any($2::text[]) returning ${OBJECT_COLUMNS}`, [bucketId, names]);
}

export async function deleteAllObjects(q: Query, bucketId: string): Promise<ObjectRow[]> {
    return q<ObjectRow>(`delete from storage.objects where bucket_id = $1 returning ${OBJECT_COLUMNS}`, [bucketId]);
}

/** Every version a row points at (the startup sweep keeps exactly these files). */
export async function referencedVersions(q: Query): Promise<Set<string>> {
    const rows = await q<{ version: string }>(`select version from storage.objects where version is not null`);
    return new Set(rows.map((r) => r.version));
}

export interface SearchRow {
    name: string;
    id: string | null;
    updated_at: string | null;
    created_at: string | null;
    last_accessed_at: string | null;
    metadata: Record<string, unknown> | null;
}

export interface SearchOptions {
    limit: number;
    offset: number;
    search: string;
    sortColumn: string;
    sortOrder: string;
}

/** List v1 through storage.search (one level below `prefix`). */
export async function searchObjects(q: Query, bucketId: string, prefix: string, o: SearchOptions): Promise<SearchRow[]> {
    const levels = prefix.split('/').length;
    return q<SearchRow>(
        `select name, id, to_json(updated_at) #>> '{}' as updated_at, to_json(created_at) #>> '{}' as created_at,
                to_json(last_accessed_at) #>> '{}' as last_accessed_at, metadata
         from storage.search($1, $2, $3, $4, $5, $6, $7, $8)`,
        [prefix, bucketId, o.limit, levels, o.offset, o.search, o.sortColumn, o.sortOrder],
    );
}

export interface ListV2Row {
    key: string;
    is_folder: boolean;
    id: string | null;
    name: string;
    metadata: Record<string, unknown> | null;
    created_at: string | null;
    updated_at: string | null;
    last_accessed_at: string | null;
}

export interface ListV2Options {
    prefix: string;
    delimiter: boolean;
    /** Keys strictly after this one (name order) … */
    after?: string;
    /** … or rows after this many (other orders). */
    offset?: number;
    limit: number;
    sortColumn: 'name' | 'created_at' | 'updated_at';
    sortOrder: 'asc' | 'desc';
}

/**
 * List v2: every object under `prefix`, or with the delimiter one level of it — objects
 * and the common prefixes ("folders", keys ending in `/`) — in key order, RLS applied.
 */
export async function listObjectsV2(q: Query, bucketId: string, o: ListV2Options): Promise<ListV2Row[]> {
    const rest = `substr(name, length($2) + 1)`;
    const key = o.delimiter
        ? `case when strpos(${rest}, '/') > 0 then left(name, length($2) + strpos(${rest}, '/')) else name end`
        : 'name';
    const params: unknown[] = [bucketId, o.prefix, o.limit];
    let filter = '';
    if (o.after !== undefined) {
        params.push(o.after);
        filter = `where key ${o.sortOrder === 'desc' ? '<' : '>'} $${params.length}`;
    }
    let offset = '';
    if (o.offset) {
        params.push(o.offset);
        offset = `offset $${params.length}`;
    }
    const order = o.sortColumn === 'name' ? `key ${o.sortOrder}` : `is_folder desc, ${o.sortColumn} ${o.sortOrder}, key`;
    return q<ListV2Row>(
        `with entries as (
            select (${key}) collate "C" as key, (${key}) <> name as is_folder,
                   id, name, metadata, created_at, updated_at, last_accessed_at
            from storage.objects
            where bucket_id = $1 and left(name, length($2)) = $2
         ), keyed as (
            select distinct on (key) key, is_folder,
                   case when is_folder then null else id end as id, name,
                   case when is_folder then null else metadata end as metadata,
                   case when is_folder then null else created_at end as created_at,
                   case when is_folder then null else updated_at end as updated_at,
                   case when is_folder then null else last_accessed_at end as last_accessed_at
            from entries
            order by key
         )
         select key, is_folder, id, name, metadata,
                to_json(created_at) #>> '{}' as created_at, to_json(updated_at) #>> '{}' as updated_at,
                to_json(last_accessed_at) #>> '{}' as last_accessed_at
         from keyed ${filter}
         order by ${order}
         limit $3 ${offset}`,
        params,
    );
}
