-- ============================================================================
-- The realtime schema of Supabase Realtime, as its tenant migrations leave it for
-- the parts a project touches: realtime.messages (broadcast from the database and
-- Realtime Authorization policies), realtime.topic(), realtime.send(),
-- realtime.send_binary(), realtime.broadcast_changes(), and the publications the
-- service decodes (`supabase_realtime` for postgres_changes, created empty as the
-- supabase/postgres image does; `supabase_realtime_messages_publication` for
-- realtime.messages). Owned by supabase_realtime_admin. Idempotent.
--
-- Differences from Supabase, on purpose: realtime.messages is a plain table (the
-- service deletes rows older than 72 hours) rather than daily partitions created by
-- the service; the wal2json helpers of postgres_cdc_rls (subscription, apply_rls,
-- list_changes) are absent because the local service decodes pgoutput itself and
-- checks RLS with its own queries (docs/realtime.md).
-- ============================================================================

do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_realtime_admin') then
        create role supabase_realtime_admin nologin noinherit noreplication;
    end if;
end
$$;

grant supabase_realtime_admin to postgres;

create schema if not exists realtime authorization supabase_realtime_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- realtime.messages: one row per broadcast sent from the database, and the probe
-- rows Realtime Authorization inserts (and rolls back) to evaluate RLS policies.
-- ---------------------------------------------------------------------------

create table if not exists realtime.messages (
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    updated_at timestamp without time zone not null default now(),
    inserted_at timestamp without time zone not null default now(),
    id uuid not null default gen_random_uuid(),
    binary_payload bytea,
    primary key (id, inserted_at)
);
alter table realtime.messages owner to supabase_realtime_admin;
create index if not exists messages_inserted_at_idx on realtime.messages (inserted_at);

alter table realtime.messages enable row level security;

grant select, insert, update on realtime.messages to anon, authenticated, service_role;
grant all on realtime.messages to postgres;

-- ---------------------------------------------------------------------------
-- realtime.topic(): the topic being authorised (set transaction-locally by the
-- service while it evaluates policies, and by realtime.send()).
-- ---------------------------------------------------------------------------

create or replace function realtime.topic()
returns text
language sql stable
set search_path = ''
as $$
    select nullif(current_setting('realtime.topic', true), '')::text
$$;
alter function realtime.topic() owner to supabase_realtime_admin;
grant execute on function realtime.topic() to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Broadcast from the database: rows inserted here are delivered by the service to
-- the topic's subscribers of the same privacy (private by default). A failure is a
-- warning, never an error of the calling transaction.
-- ---------------------------------------------------------------------------

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
set search_path = ''
as $$
declare
    generated_id uuid := gen_random_uuid();
    final_payload jsonb;
begin
    begin
        final_payload := case when payload ? 'id' then payload else jsonb_set(payload, '{id}', to_jsonb(generated_id)) end;
        perform set_config('realtime.topic', topic, true);
        insert into realtime.messages (id, payload, event, topic, private, extension)
        values (generated_id, final_payload, event, topic, private, 'broadcast');
    exception
        when others then
            raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
    end;
end;
$$;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;

create or replace function realtime.send_binary(payload bytea, event text, topic text, private boolean default true)
returns void
language plpgsql
set search_path = ''
as $$
begin
    begin
        perform set_config('realtime.topic', topic, true);
        insert into realtime.messages (binary_payload, event, topic, private, extension)
        values (payload, event, topic, private, 'broadcast');
    exception
        when others then
            raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
    end;
end;
$$;
alter function realtime.send_binary(bytea, text, text, boolean) owner to supabase_realtime_admin;

create or replace function realtime.broadcast_changes(
    topic_name text,
    event_name text,
    operation text,
    table_name text,
    table_schema text,
    new record,
    old record,
    level text default 'ROW'
)
returns void
language plpgsql
set search_path = ''
as $$
declare
    row_data jsonb := '{}'::jsonb;
begin
    if level = 'STATEMENT' then
        raise exception 'function can only be triggered for each row, not for each statement';
    end if;
    if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
        row_data := jsonb_build_object('old_record', old, 'record', new, 'operation', operation, 'table', table_name, 'schema', table_schema);
        perform realtime.send(row_data, event_name, topic_name);
    else
        raise exception 'Unexpected operation type: %', operation;
    end if;
exception
    when others then
        raise exception 'Failed to process the row: %', sqlerrm;
end;
$$;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text) owner to supabase_realtime_admin;

revoke execute on function realtime.send(jsonb, text, text, boolean) from public;
revoke execute on function realtime.send_binary(bytea, text, text, boolean) from public;
revoke execute on function realtime.broadcast_changes(text, text, text, text, text, record, record, text) from public;
grant execute on function realtime.send(jsonb, text, text, boolean) to postgres, anon, authenticated, service_role;
grant execute on function realtime.send_binary(bytea, text, text, boolean) to postgres, anon, authenticated, service_role;
grant execute on function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
    to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Publications the service decodes from its logical replication slot.
-- ---------------------------------------------------------------------------

do $$
begin
    if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
    if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime_messages_publication') then
        create publication supabase_realtime_messages_publication for table realtime.messages with (publish = 'insert');
    end if;
end
$$;
