-- ============================================================================
-- The storage schema as Supabase Storage leaves it after its tenant migrations:
-- buckets, objects (metadata only: the bytes live on disk, see stack/storage),
-- migrations, the helper functions policies use (foldername, filename,
-- extension), search() for listing and operation(). Owned by
-- supabase_storage_admin. RLS is on for both tables and is the only gate: the
-- API roles hold ALL privileges, policies decide. Idempotent.
-- ============================================================================

do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_storage_admin') then
        create role supabase_storage_admin login noinherit createrole password 'postgres';
    end if;
end
$$;

alter role supabase_storage_admin set search_path = storage;
-- As on Supabase, migrations run by postgres may create policies on storage tables.
grant supabase_storage_admin to postgres;

create schema if not exists storage authorization supabase_storage_admin;
grant usage on schema storage to postgres, anon, authenticated, service_role, dashboard_user;
grant all on schema storage to postgres;

alter default privileges for role supabase_storage_admin in schema storage
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
    grant all on functions to postgres, anon, authenticated, service_role;

set role supabase_storage_admin;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

do $$
begin
    if not exists (select from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace
                   where n.nspname = 'storage' and t.typname = 'buckettype') then
        create type storage.buckettype as enum ('STANDARD', 'ANALYTICS');
    end if;
end
$$;

create table if not exists storage.migrations (
    id integer primary key,
    name varchar(100) not null unique,
    hash varchar(40) not null,
    executed_at timestamp default current_timestamp
);

create table if not exists storage.buckets (
    id text not null primary key,
    name text not null,
    owner uuid,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    public boolean default false,
    avif_autodetection boolean default false,
    file_size_limit bigint,
    allowed_mime_types text[],
    owner_id text,
    type storage.buckettype not null default 'STANDARD'
);

create unique index if not exists bname on storage.buckets using btree (name);

create table if not exists storage.objects (
    id uuid not null default gen_random_uuid() primary key,
    bucket_id text,
    name text,
    owner uuid,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    last_accessed_at timestamptz default now(),
    metadata jsonb,
    path_tokens text[] generated always as (string_to_array(name, '/')) stored,
    version text,
    owner_id text,
    user_metadata jsonb,
    constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
);

create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects using btree (name text_pattern_ops);
create index if not exists idx_objects_bucket_id_name on storage.objects (bucket_id, name collate "C");

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
alter table storage.migrations enable row level security;

grant all on storage.buckets, storage.objects to postgres, anon, authenticated, service_role;
grant all on storage.migrations to postgres;

-- ---------------------------------------------------------------------------
-- Triggers: updated_at, and no direct DELETE (rows would lose their files) unless
-- the Storage API says so with storage.allow_delete_query = 'true'.
-- ---------------------------------------------------------------------------

create or replace function storage.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at = now();
    return new;
end;
$$;

create or replace function storage.protect_delete()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
        raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
            using hint = 'This prevents accidental data loss from orphaned objects.',
                  errcode = '42501';
    end if;
    return null;
end;
$$;

drop trigger if exists update_objects_updated_at on storage.objects;
create trigger update_objects_updated_at
    before update on storage.objects
    for each row execute function storage.update_updated_at_column();

drop trigger if exists protect_objects_delete on storage.objects;
create trigger protect_objects_delete
    before delete on storage.objects
    for each statement execute function storage.protect_delete();

drop trigger if exists protect_buckets_delete on storage.buckets;
create trigger protect_buckets_delete
    before delete on storage.buckets
    for each statement execute function storage.protect_delete();

-- ---------------------------------------------------------------------------
-- Helpers for policies: storage.foldername('a/b/c.png') = {a,b},
-- storage.filename(…) = 'c.png', storage.extension(…) = 'png'.
-- ---------------------------------------------------------------------------

create or replace function storage.foldername(name text)
returns text[]
language plpgsql
immutable
set search_path = ''
as $$
declare
    _parts text[];
begin
    select string_to_array(name, '/') into _parts;
    return _parts[1:array_length(_parts, 1) - 1];
end
$$;

create or replace function storage.filename(name text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
    _parts text[];
begin
    select string_to_array(name, '/') into _parts;
    return _parts[array_length(_parts, 1)];
end
$$;

create or replace function storage.extension(name text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
    _parts text[];
    _filename text;
begin
    select string_to_array(name, '/') into _parts;
    select _parts[array_length(_parts, 1)] into _filename;
    return reverse(split_part(reverse(_filename), '.', 1));
end
$$;

-- The Storage API operation of the current request ('storage.object.upload', …).
create or replace function storage.operation()
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
    return current_setting('storage.operation', true);
end;
$$;

create or replace function storage.get_size_by_bucket()
returns table (size bigint, bucket_id text)
language plpgsql
stable
set search_path = ''
as $$
begin
    return query
        select sum((metadata ->> 'size')::int)::bigint as size, obj.bucket_id
        from storage.objects as obj
        group by obj.bucket_id;
end
$$;

-- List one level below `prefix` (list v1): folders first (id and metadata null),
-- then the objects of that level; runs as the caller, so RLS filters the rows.
create or replace function storage.search(
    prefix text,
    bucketname text,
    limits int default 100,
    levels int default 1,
    offsets int default 0,
    search text default '',
    sortcolumn text default 'name',
    sortorder text default 'asc'
)
returns table (
    name text,
    id uuid,
    updated_at timestamptz,
    created_at timestamptz,
    last_accessed_at timestamptz,
    metadata jsonb
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
    v_order_by text;
    v_sort_order text;
begin
    case
        when sortcolumn = 'name' then v_order_by = 'name';
        when sortcolumn = 'updated_at' then v_order_by = 'updated_at';
        when sortcolumn = 'created_at' then v_order_by = 'created_at';
        when sortcolumn = 'last_accessed_at' then v_order_by = 'last_accessed_at';
        else v_order_by = 'name';
    end case;

    case
        when sortorder = 'asc' then v_sort_order = 'asc';
        when sortorder = 'desc' then v_sort_order = 'desc';
        else v_sort_order = 'asc';
    end case;

    v_order_by = v_order_by || ' ' || v_sort_order;

    return query execute
        'with folders as (
            select path_tokens[$1] as folder
            from storage.objects
            where objects.name ilike $2 || $3 || ''%''
              and bucket_id = $4
              and array_length(objects.path_tokens, 1) <> $1
            group by folder
            order by folder ' || v_sort_order || '
        )
        (select folder as "name",
                null::uuid as id,
                null::timestamptz as updated_at,
                null::timestamptz as created_at,
                null::timestamptz as last_accessed_at,
                null::jsonb as metadata
         from folders)
        union all
        (select path_tokens[$1] as "name",
                id,
                updated_at,
                created_at,
                last_accessed_at,
                metadata
         from storage.objects
         where objects.name ilike $2 || $3 || ''%''
           and bucket_id = $4
           and array_length(objects.path_tokens, 1) = $1
         order by ' || v_order_by || ')
        limit $5
        offset $6'
        using levels, prefix, search, bucketname, limits, offsets;
end;
$$;

reset role;

grant execute on function storage.foldername(text), storage.filename(text), storage.extension(text),
    storage.operation(), storage.search(text, text, int, int, int, text, text, text), storage.get_size_by_bucket()
    to postgres, anon, authenticated, service_role, dashboard_user;
