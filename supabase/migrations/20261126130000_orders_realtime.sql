-- ============================================================================
-- Realtime for orders: customers watch their order turn paid, staff watch orders
-- arrive. `orders` and `payments` stream as postgres_changes (RLS decides, per
-- subscriber, which rows each one receives), and every change of an order's status
-- is also broadcast on the private topic `order:<id>` (the path Supabase recommends at
-- scale), readable only by the order's customer and by staff.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- postgres_changes
-- ----------------------------------------------------------------------------

alter publication supabase_realtime add table public.orders, public.payments;

-- ----------------------------------------------------------------------------
-- Broadcast on order:<id> when the status changes
-- ----------------------------------------------------------------------------

-- security definer: the row goes to realtime.messages whoever changed the order
-- (a webhook's service role, a customer cancelling); callers cannot reach it, it only
-- runs as a trigger.
create or replace function private.broadcast_order_status()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform realtime.broadcast_changes(
        'order:' || new.id::text,
        'status_changed',
        tg_op,
        tg_table_name,
        tg_table_schema,
        new,
        old
    );
    return null;
end;
$$;

revoke execute on function private.broadcast_order_status() from public, anon, authenticated, service_role;

create trigger orders_broadcast_status
    after update of status on public.orders
    for each row
    when (old.status is distinct from new.status)
    execute function private.broadcast_order_status();

-- ----------------------------------------------------------------------------
-- Who may listen on order:<id> (Realtime Authorization: RLS on realtime.messages)
-- ----------------------------------------------------------------------------

-- A topic is readable by whoever can read the order it names: the exists() runs under
-- the orders policies, so that is the order's customer and staff, nobody else.
create policy "Users can receive the broadcasts of the orders they can read"
    on realtime.messages for select to authenticated
    using (
        realtime.messages.extension = 'broadcast'
        and exists (
            select 1 from public.orders o
            where o.id = (
                select case when realtime.topic() ~ '^order:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                            then substr(realtime.topic(), 7)::uuid end
            )
        )
    );
