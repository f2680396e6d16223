-- ============================================================================
-- Per-database platform objects: the public and extensions schemas, their
-- privileges and default privileges, as on a Supabase project.
-- ============================================================================

-- ---------------------------------------------------------------------------
-- public
-- ---------------------------------------------------------------------------

grant usage on schema public to postgres, anon, authenticated, service_role;
grant all on schema public to postgres, service_role;

alter default privileges for role postgres in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on functions to postgres, anon, authenticated, service_role;

alter default privileges for role supabase_admin in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on functions to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- extensions
-- ---------------------------------------------------------------------------

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
alter default privileges in schema extensions
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema extensions
    grant all on functions to postgres, anon, authenticated, service_role;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- ---------------------------------------------------------------------------
-- graphql_public: listed in the default [api] schemas of config.toml
-- ---------------------------------------------------------------------------

create schema if not exists graphql_public;
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;
