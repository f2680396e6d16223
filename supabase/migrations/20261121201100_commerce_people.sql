-- ============================================================================
-- People: customer profiles (1:1 with auth.users), staff roles, and the custom
-- access token hook that puts the staff role into every access token.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Profiles
-- ----------------------------------------------------------------------------

create table public.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    email text,
    full_name text check (length(full_name) <= 200),
    phone text check (length(phone) <= 40),
    shipping_address jsonb check (shipping_address is null or jsonb_typeof(shipping_address) = 'object'),
    billing_address jsonb check (billing_address is null or jsonb_typeof(billing_address) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.profiles enable row level security;

create trigger profiles_set_updated_at
    before update on public.profiles
    for each row execute function private.set_updated_at();

-- Customers change only the fields they own; id and email follow auth.users.
revoke all on public.profiles from anon, authenticated;
grant select on public.profiles to authenticated;
grant update (full_name, phone, shipping_address, billing_address) on public.profiles to authenticated;

create policy "Customers can read their own profile and support staff can read every profile"
    on public.profiles for select to authenticated
    using (
        id = (select auth.uid())
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'admin')
    );

create policy "Customers can update their own profile"
    on public.profiles for update to authenticated
    using (id = (select auth.uid()))
    with check (id = (select auth.uid()));

-- The profile row exists as soon as the user does. Definer: the auth server inserts
-- users as supabase_auth_admin, which has no grant on public.profiles.
create or replace function private.create_profile_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into public.profiles (id, email, full_name)
    values (new.id, new.email, nullif(new.raw_user_meta_data ->> 'full_name', ''))
    on conflict (id) do nothing;
    return new;
end;
$$;

-- Definer for the same reason: keeps profiles.email equal to the confirmed auth email.
create or replace function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.profiles set email = new.email where id = new.id;
    return new;
end;
$$;

revoke execute on function private.create_profile_for_new_user(), private.sync_profile_email() from public, anon, authenticated;

create trigger on_auth_user_created_create_profile
    after insert on auth.users
    for each row execute function private.create_profile_for_new_user();

create trigger on_auth_user_email_changed_sync_profile
    after update of email on auth.users
    for each row when (old.email is distinct from new.email)
    execute function private.sync_profile_email();

-- ----------------------------------------------------------------------------
-- Staff
-- ----------------------------------------------------------------------------

create table public.staff (
    user_id uuid primary key references auth.users (id) on delete cascade,
    role public.staff_role not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.staff enable row level security;

create trigger staff_set_updated_at
    before update on public.staff
    for each row execute function private.set_updated_at();

revoke all on public.staff from anon, authenticated;
grant select, delete on public.staff to authenticated;
grant insert (user_id, role) on public.staff to authenticated;
grant update (role) on public.staff to authenticated;

create policy "Staff can read their own role and admins can read every staff member"
    on public.staff for select to authenticated
    using (
        user_id = (select auth.uid())
        or ((select auth.jwt()) ->> 'user_role') = 'admin'
    );

create policy "Admins with MFA can add staff members"
    on public.staff for insert to authenticated
    with check (
        ((select auth.jwt()) ->> 'user_role') = 'admin'
        and ((select auth.jwt()) ->> 'aal') = 'aal2'
    );

create policy "Admins with MFA can change staff roles"
    on public.staff for update to authenticated
    using (
        ((select auth.jwt()) ->> 'user_role') = 'admin'
        and ((select auth.jwt()) ->> 'aal') = 'aal2'
    )
    with check (
        ((select auth.jwt()) ->> 'user_role') = 'admin'
        and ((select auth.jwt()) ->> 'aal') = 'aal2'
    );

create policy "Admins with MFA can remove staff members"
    on public.staff for delete to authenticated
    using (
        ((select auth.jwt()) ->> 'user_role') = 'admin'
        and ((select auth.jwt()) ->> 'aal') = 'aal2'
    );

-- The auth server reads roles when it issues a token (through the hook below).
grant usage on schema public to supabase_auth_admin;
grant select on public.staff to supabase_auth_admin;

create policy "The auth server can read staff roles"
    on public.staff for select to supabase_auth_admin
    using (true);

-- Every staff change is audited. Definer: the audit log is private and the acting
-- admin (authenticated) has no grant on it.
create or replace function private.audit_staff_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.audit(
        'staff.' || lower(tg_op),
        'staff',
        coalesce(new.user_id, old.user_id)::text,
        case when tg_op = 'INSERT' then null else to_jsonb(old) end,
        case when tg_op = 'DELETE' then null else to_jsonb(new) end
    );
    return null;
end;
$$;

revoke execute on function private.audit_staff_change() from public, anon, authenticated;

create trigger staff_audit
    after insert or update or delete on public.staff
    for each row execute function private.audit_staff_change();

-- ----------------------------------------------------------------------------
-- Custom access token hook ([auth.hook.custom_access_token] in config.toml).
-- The auth server runs `select public.custom_access_token_hook($1::jsonb)` as
-- supabase_auth_admin with {user_id, claims, authentication_method} and signs the
-- returned {claims}. `user_role` comes only from public.staff: whatever a user put
-- in their metadata never becomes a role.
-- ----------------------------------------------------------------------------

create or replace function public.custom_access_token_hook(event jsonb)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
    claims jsonb := coalesce(event -> 'claims', '{}'::jsonb);
    staff_role public.staff_role;
begin
    select s.role into staff_role
    from public.staff s
    where s.user_id = (event ->> 'user_id')::uuid;

    if staff_role is null then
        claims := claims - 'user_role';
    else
        claims := jsonb_set(claims, '{user_role}', to_jsonb(staff_role::text));
    end if;

    return jsonb_build_object('claims', claims);
end;
$$;

revoke execute on function public.custom_access_token_hook(jsonb) from public, anon, authenticated, service_role;
grant execute on function public.custom_access_token_hook(jsonb) to supabase_auth_admin;
