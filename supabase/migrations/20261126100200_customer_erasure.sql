-- ============================================================================
-- Erasure (issue 9 §4): a customer's personal data goes, their orders stay as
-- financial records without an owner.
--
-- One code path: a trigger on auth.users. Whoever removes the user — an admin
-- with MFA through public.erase_customer, the service role through the Auth admin
-- API (DELETE /auth/v1/admin/users/:id, hard or soft delete) or SQL — the same
-- private.erase_customer_data runs first, in the same transaction:
--   * unpaid orders are canceled and their stock released (a Stripe payment in
--     flight is canceled through the outbox);
--   * every order loses its owner link (user_id = null), email (a placeholder on
--     the reserved .invalid domain) and addresses (only the countries stay, for tax
--     reporting); the ERP is sent the scrubbed version;
--   * order mail not yet sent is dropped; personal fields are removed from the
--     Stripe event log and the audit log's snapshots; the Stripe customer is queued
--     for deletion; profile, carts and staff membership are deleted;
--   * one `customer.erase` audit entry records who erased whom (no personal data).
-- orders.user_id stays `on delete restrict`: if the trigger were ever missing, the
-- delete would fail rather than leave personal data behind.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Orders may outlive their owner. RLS stays sound: `user_id = auth.uid()` is never
-- true for null, so an erased customer's orders are visible to staff only.
-- ----------------------------------------------------------------------------

alter table public.orders alter column user_id drop not null;

comment on column public.orders.user_id is 'The customer; null once the customer was erased (the order is kept as a financial record).';

-- The state machines of docs/domain.md, as before; the owner may now be cleared (erasure),
-- never changed to someone else.
create or replace function private.guard_order_transition()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    if (new.user_id is distinct from old.user_id and new.user_id is not null)
        or new.number is distinct from old.number
        or new.currency is distinct from old.currency or new.total_amount is distinct from old.total_amount
        or new.subtotal_amount is distinct from old.subtotal_amount or new.idempotency_key is distinct from old.idempotency_key then
        raise exception using errcode = 'TB001', message = 'an order''s owner, number, currency and amounts never change';
    end if;

    if new.status is distinct from old.status and not (
        (old.status = 'pending_payment' and new.status in ('paid', 'expired', 'canceled'))
        or (old.status = 'paid' and new.status in ('fulfilling', 'fulfilled', 'completed'))
        or (old.status = 'paid' and new.status = 'canceled' and new.payment_status = 'refunded')
        or (old.status = 'fulfilling' and new.status in ('fulfilled', 'completed'))
        or (old.status = 'fulfilled' and new.status = 'completed')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s cannot move from %s to %s', old.number, old.status, new.status);
    end if;

    if new.payment_status is distinct from old.payment_status and not (
        (old.payment_status = 'unpaid' and new.payment_status in ('authorized', 'captured', 'failed'))
        or (old.payment_status = 'authorized' and new.payment_status in ('captured', 'failed'))
        or (old.payment_status = 'failed' and new.payment_status in ('authorized', 'captured'))
        or (old.payment_status = 'captured' and new.payment_status in ('partially_refunded', 'refunded'))
        or (old.payment_status = 'partially_refunded' and new.payment_status = 'refunded')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s payment cannot move from %s to %s', old.number, old.payment_status, new.payment_status);
    end if;

    if new.fulfillment_status < old.fulfillment_status then
        raise exception using errcode = 'TB001',
            message = format('order %s fulfilment cannot move back from %s to %s', old.number, old.fulfillment_status, new.fulfillment_status);
    end if;

    if new.erp_status is distinct from old.erp_status and not (
        (old.erp_status = 'not_synced' and new.erp_status = 'queued')
        or (old.erp_status = 'queued' and new.erp_status in ('synced', 'failed', 'dead'))
        or (old.erp_status = 'failed' and new.erp_status in ('queued', 'synced', 'dead'))
        or (old.erp_status in ('synced', 'dead') and new.erp_status = 'queued')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s ERP status cannot move from %s to %s', old.number, old.erp_status, new.erp_status);
    end if;

    -- The ERP status is bookkeeping about the order, not a change of it.
    if (new.status, new.payment_status, new.fulfillment_status, new.tracking_number, new.email,
        new.shipping_address, new.billing_address, new.expires_at)
        is distinct from
       (old.status, old.payment_status, old.fulfillment_status, old.tracking_number, old.email,
        old.shipping_address, old.billing_address, old.expires_at) then
        new.version := old.version + 1;
    end if;
    new.updated_at := now();
    return new;
end;
$$;

-- ----------------------------------------------------------------------------
-- The audit log stays append-only, with one exception: an entry may lose the
-- personal fields of its snapshots (erasure). Nothing else about it can change,
-- and it can never be deleted.
-- ----------------------------------------------------------------------------

-- The snapshot without the fields that identify a person.
create or replace function private.without_personal_data(p_snapshot jsonb)
returns jsonb
language sql
immutable
security invoker
set search_path = ''
as $$
    select case when jsonb_typeof(p_snapshot) = 'object'
                then p_snapshot - array['email', 'full_name', 'phone', 'shipping_address', 'billing_address']
                else p_snapshot end;
$$;

create or replace function private.guard_audit_log()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE'
        and (new.id, new.actor_id, new.actor_role, new.action, new.entity, new.entity_id, new.at)
            is not distinct from (old.id, old.actor_id, old.actor_role, old.action, old.entity, old.entity_id, old.at)
        and new.before is not distinct from private.without_personal_data(old.before)
        and new.after is not distinct from private.without_personal_data(old.after) then
        return new;
    end if;
    raise exception using
        errcode = '42501',
        message = 'private.audit_log is append-only (an entry can only lose personal data, on erasure)';
end;
$$;

drop trigger audit_log_is_append_only on private.audit_log;

create trigger audit_log_is_append_only
    before update or delete on private.audit_log
    for each row execute function private.guard_audit_log();

-- ----------------------------------------------------------------------------
-- The erasure itself.
-- ----------------------------------------------------------------------------

create or replace function private.erase_customer_data(p_user_id uuid)
returns jsonb
language plpgsql
-- Definer: runs from the trigger on auth.users as the auth server's role, which has
-- no grants on the commerce tables; only that trigger and erase_customer call it.
security definer
set search_path = ''
as $$
declare
    v_orders uuid[];
    v_open uuid[];
    v_order uuid;
    v_stripe_customer text;
    v_result jsonb;
begin
    -- place_order's per-customer lock: no order of this customer is placed meanwhile.
    perform pg_advisory_xact_lock(hashtextextended('place_order:' || p_user_id, 0));
    select coalesce(array_agg(o.id order by o.id), '{}') into v_orders
    from (select o.id from public.orders o where o.user_id = p_user_id order by o.id for update) o;

    -- Unpaid orders end: an erased customer cannot pay them.
    select coalesce(array_agg(o.id order by o.id), '{}') into v_open
    from public.orders o where o.id = any (v_orders) and o.status = 'pending_payment';
    foreach v_order in array v_open loop
        update public.orders
        set status = 'canceled', canceled_at = now(),
            payment_status = case when payment_status = 'authorized' then 'failed'::public.payment_status else payment_status end
        where id = v_order;
        perform private.release_reservations(v_order, 'released');
        update public.payments set status = 'canceled'
        where order_id = v_order and status in ('pending', 'authorized', 'failed');
        if found then
            perform private.enqueue_outbox('stripe.payment.cancel', 'order', v_order,
                jsonb_build_object('order_id', v_order), 'stripe.payment.cancel:' || v_order);
        end if;
    end loop;

    -- Orders stay, without the person.
    update public.orders
    set user_id = null,
        email = 'erased@erased.invalid',
        shipping_address = case when shipping_address ? 'country' then jsonb_build_object('country', shipping_address -> 'country') end,
        billing_address = case when billing_address ? 'country' then jsonb_build_object('country', billing_address -> 'country') end
    where id = any (v_orders);
    perform private.enqueue_erp_upsert(o.id)
    from public.orders o where o.id = any (v_orders) and o.erp_status <> 'not_synced';

    -- Mail not sent yet is not sent at all.
    update private.outbox
    set status = 'done', completed_at = now(), last_error = 'not sent: the customer was erased'
    where aggregate_id = any (v_orders) and topic like 'email.%' and status = 'pending';

    -- Stripe's copies: personal fields of the recorded events, and the Stripe customer.
    update private.stripe_events
    set payload = payload
        #- '{data,object,billing_details}' #- '{data,object,receipt_email}' #- '{data,object,customer_details}'
        #- '{data,object,customer_email}' #- '{data,object,shipping}' #- '{data,object,shipping_details}'
    where order_id = any (v_orders);
    delete from private.stripe_customers c where c.user_id = p_user_id
    returning c.stripe_customer_id into v_stripe_customer;
    if v_stripe_customer is not null then
        perform private.enqueue_outbox('stripe.customer.delete', 'user', p_user_id,
            jsonb_build_object('stripe_customer_id', v_stripe_customer), 'stripe.customer.delete:' || v_stripe_customer);
    end if;

    -- Snapshots of the orders and of the person in the audit log (through its (entity, entity_id) index).
    update private.audit_log a
    set before = private.without_personal_data(a.before), after = private.without_personal_data(a.after)
    where (a.entity = 'order' and a.entity_id = any (v_orders::text[]))
       or (a.entity in ('user', 'staff') and a.entity_id = p_user_id::text);

    delete from public.carts where user_id = p_user_id;
    delete from public.staff where user_id = p_user_id;
    delete from public.profiles where id = p_user_id;

    v_result := jsonb_build_object('user_id', p_user_id, 'orders_kept', cardinality(v_orders), 'orders_canceled', cardinality(v_open));
    insert into private.audit_log (actor_id, actor_role, action, entity, entity_id, after)
    values (auth.uid(), coalesce(auth.jwt() ->> 'user_role', auth.role(), session_user), 'customer.erase', 'user', p_user_id::text, v_result);
    return v_result;
end;
$$;

-- Definer for the same reason as erase_customer_data: the auth server deletes users as
-- supabase_auth_admin.
create or replace function private.erase_customer_on_user_removal()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.erase_customer_data(old.id);
    return case when tg_op = 'DELETE' then old else new end;
end;
$$;

revoke execute on function
    private.without_personal_data(jsonb),
    private.guard_audit_log(),
    private.erase_customer_data(uuid),
    private.erase_customer_on_user_removal()
    from public, anon, authenticated;

-- A hard delete (DELETE /auth/v1/admin/users/:id, or SQL) ...
create trigger on_auth_user_deleted_erase_customer
    before delete on auth.users
    for each row execute function private.erase_customer_on_user_removal();

-- ... and a soft delete (should_soft_delete: the row stays with deleted_at set).
create trigger on_auth_user_soft_deleted_erase_customer
    after update of deleted_at on auth.users
    for each row when (old.deleted_at is null and new.deleted_at is not null)
    execute function private.erase_customer_on_user_removal();

-- ----------------------------------------------------------------------------
-- erase_customer: an admin signed in with MFA erases a customer. Refused for staff
-- members (remove the role first) and while an order is paid but not shipped yet
-- (the warehouse still needs the address); everything else is the trigger above.
-- ----------------------------------------------------------------------------

create or replace function public.erase_customer(p_user_id uuid)
returns jsonb
language plpgsql
-- Definer: deletes from auth.users and reads private.audit_log, which admins have no
-- grants on; the caller's role and aal2 are checked below.
security definer
set search_path = ''
as $$
declare
    v_result jsonb;
begin
    if (coalesce(auth.jwt() ->> 'user_role', '') <> 'admin' or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2')
        and coalesce(auth.role(), '') <> 'service_role' then
        raise exception using errcode = '42501', message = 'erase_customer: admins signed in with MFA (aal2) only';
    end if;
    perform 1 from auth.users u where u.id = p_user_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'erase_customer: no such user';
    end if;
    if exists (select 1 from public.staff s where s.user_id = p_user_id) then
        raise exception using errcode = 'TB001', message = 'erase_customer: this user is a staff member; remove their staff role first';
    end if;
    if exists (select 1 from public.orders o where o.user_id = p_user_id and o.status in ('paid', 'fulfilling')) then
        raise exception using errcode = 'TB001',
            message = 'erase_customer: the customer has paid orders not shipped yet; ship or refund them first';
    end if;

    delete from auth.users where id = p_user_id;

    select a.after into v_result from private.audit_log a
    where a.action = 'customer.erase' and a.entity_id = p_user_id::text
    order by a.id desc limit 1;
    return v_result;
end;
$$;

revoke execute on function public.erase_customer(uuid) from public, anon;
grant execute on function public.erase_customer(uuid) to authenticated, service_role;
