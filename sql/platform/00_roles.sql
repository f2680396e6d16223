-- ============================================================================
-- Supabase platform roles (cluster-wide), as the supabase/postgres image creates
-- them. Idempotent: every statement may run again on an initialised cluster.
-- ============================================================================

do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
        create role supabase_admin superuser login createdb createrole replication bypassrls password 'postgres';
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin inherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin inherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin inherit bypassrls;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit password 'postgres';
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_auth_admin') then
        create role supabase_auth_admin login noinherit createrole password 'postgres';
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'dashboard_user') then
        create role dashboard_user nologin createrole createdb replication;
    end if;
end
$$;

-- Attributes are re-asserted so a half-initialised cluster converges.
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role authenticator login noinherit nobypassrls;
alter role supabase_auth_admin login noinherit createrole;

-- The REST server logs in as authenticator and switches to one of these per request.
grant anon, authenticated, service_role to authenticator;
-- Supabase's postgres is a member of the API roles (migrations grant to them, tests switch to them).
grant anon, authenticated, service_role to postgres;
grant supabase_auth_admin to postgres;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
alter role supabase_auth_admin set search_path = auth;
alter role postgres set search_path = "$user", public, extensions;
