-- Scheduled jobs: HTTP calls to edge functions on a cron schedule, declared once.
--
-- A job is a row of scheduler.jobs, inserted by a migration. The same row drives both
-- runtimes:
--   * hosted Supabase: where pg_cron and pg_net exist, a trigger turns each row into a
--     cron.schedule(...) whose command calls the function with net.http_post, reading
--     the project URL and the key from Vault (secrets `project_url` and
--     `scheduler_service_key`, set once per project: see docs/functions.md);
--   * the local stack: stack/scheduler reads the table and calls the functions through
--     the gateway (pg_cron and pg_net do not exist in the embedded PostgreSQL).
-- The schema is not exposed through the API and grants nothing to anon/authenticated.

-- ============================================================================
-- Extensions, only where the platform provides them
-- ============================================================================

do $$
begin
    if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron')
        and exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
        create extension if not exists pg_cron with schema pg_catalog;
        create extension if not exists pg_net with schema extensions;
    end if;
end;
$$;

-- ============================================================================
-- The schedule
-- ============================================================================

create schema if not exists scheduler;

comment on schema scheduler is 'Scheduled calls to edge functions: pg_cron + pg_net on Supabase, stack/scheduler locally.';

revoke all on schema scheduler from public, anon, authenticated;

create table scheduler.jobs (
    name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]*$'),
    -- pg_cron syntax: five cron fields (UTC) or '<n> seconds'.
    schedule text not null check (length(schedule) between 1 and 100),
    function_name text not null check (function_name ~ '^[A-Za-z0-9_-]+$'),
    body jsonb not null default '{}'::jsonb,
    -- How long pg_net waits for the response (its default is 2 s); the function itself
    -- keeps running up to the edge runtime's wall-clock limit.
    timeout_ms integer not null default 2000 check (timeout_ms between 100 and 300000),
    enabled boolean not null default true
);

comment on table scheduler.jobs is 'One row per scheduled function call; inserted by migrations.';

revoke all on table scheduler.jobs from public, anon, authenticated;

-- ============================================================================
-- pg_cron synchronisation (a no-op where pg_cron/pg_net are missing)
-- ============================================================================

create function scheduler.cron_command(function_name text, body jsonb, timeout_ms integer)
returns text
language sql
immutable
set search_path = ''
as $$
    select format(
        $cmd$select net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/%s',
    headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'scheduler_service_key')
    ),
    body := %L::jsonb,
    timeout_milliseconds := %s
)$cmd$,
        function_name,
        body::text,
        timeout_ms
    );
$$;

comment on function scheduler.cron_command(text, jsonb, integer) is 'The pg_cron command that calls a function through pg_net.';

create function scheduler.sync_cron_job()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if to_regnamespace('cron') is null or to_regnamespace('net') is null then
        return null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') and exists (select 1 from cron.job where jobname = old.name) then
        perform cron.unschedule(old.name);
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.enabled then
        perform cron.schedule(new.name, new.schedule, scheduler.cron_command(new.function_name, new.body, new.timeout_ms));
    end if;
    return null;
end;
$$;

comment on function scheduler.sync_cron_job() is 'Keeps pg_cron''s jobs equal to scheduler.jobs where pg_cron exists.';

revoke execute on function scheduler.cron_command(text, jsonb, integer) from public, anon, authenticated;
revoke execute on function scheduler.sync_cron_job() from public, anon, authenticated;

create trigger sync_cron_job
    after insert or update or delete on scheduler.jobs
    for each row execute function scheduler.sync_cron_job();
