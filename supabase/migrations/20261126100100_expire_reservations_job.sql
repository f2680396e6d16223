-- ============================================================================
-- The expire-reservations job: every minute, the expire-reservations function
-- calls public.expire_reservations(), so an unpaid order's stock comes back at
-- most a minute after its deadline. pg_cron + pg_net run it on hosted Supabase,
-- stack/scheduler locally (see 20261121204500_scheduled_jobs.sql).
-- ============================================================================

insert into scheduler.jobs (name, schedule, function_name, body, timeout_ms)
values ('expire-reservations', '* * * * *', 'expire-reservations', '{}'::jsonb, 10000)
on conflict (name) do update
set schedule = excluded.schedule, function_name = excluded.function_name,
    body = excluded.body, timeout_ms = excluded.timeout_ms;
