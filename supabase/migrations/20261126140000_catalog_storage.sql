-- ============================================================================
-- Files of the shop in Supabase Storage: product images (a public bucket that
-- admins write and everyone reads) and order documents (a private bucket read
-- by the order's customer and by staff, through signed URLs). Products and
-- variants carry the path of their image inside `product-images`.
--
-- storage.objects is one table for every bucket, so each policy below covers
-- one command for one role across the shop's buckets (one policy per command
-- and role), with one branch per bucket.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Buckets
-- ----------------------------------------------------------------------------

-- Product images: public (served by public URL and image transforms without a key).
-- 5 MB and web image types only.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('product-images', 'product-images', true, 5242880, array['image/png', 'image/jpeg', 'image/webp', 'image/avif'])
on conflict (id) do update set
    public = excluded.public,
    file_size_limit = excluded.file_size_limit,
    allowed_mime_types = excluded.allowed_mime_types;

-- Order documents (invoices, packing slips): private; objects live under
-- `<order id>/<file>`, e.g. `5b0c…/invoice.pdf`.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('order-documents', 'order-documents', false, 10485760, array['application/pdf', 'image/png', 'image/jpeg'])
on conflict (id) do update set
    public = excluded.public,
    file_size_limit = excluded.file_size_limit,
    allowed_mime_types = excluded.allowed_mime_types;

-- ----------------------------------------------------------------------------
-- Policies on storage.objects
-- ----------------------------------------------------------------------------

create policy "Visitors can read product images"
    on storage.objects for select to anon
    using (bucket_id = 'product-images');

create policy "Signed-in users can read product images, customers their orders' documents and staff every order's"
    on storage.objects for select to authenticated
    using (
        bucket_id = 'product-images'
        or (
            bucket_id = 'order-documents'
            and (
                ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin')
                or exists (
                    select 1 from public.orders o
                    where o.id::text = (storage.foldername(name))[1]
                      and o.user_id = (select auth.uid())
                )
            )
        )
    );

create policy "Admins can add product images, and admin and finance staff order documents"
    on storage.objects for insert to authenticated
    with check (
        (bucket_id = 'product-images' and ((select auth.jwt()) ->> 'user_role') = 'admin')
        or (
            bucket_id = 'order-documents'
            and ((select auth.jwt()) ->> 'user_role') in ('finance', 'admin')
            and exists (select 1 from public.orders o where o.id::text = (storage.foldername(name))[1])
        )
    );

create policy "Admins can replace product images, and admin and finance staff order documents"
    on storage.objects for update to authenticated
    using (
        (bucket_id = 'product-images' and ((select auth.jwt()) ->> 'user_role') = 'admin')
        or (bucket_id = 'order-documents' and ((select auth.jwt()) ->> 'user_role') in ('finance', 'admin'))
    )
    with check (
        (bucket_id = 'product-images' and ((select auth.jwt()) ->> 'user_role') = 'admin')
        or (
            bucket_id = 'order-documents'
            and ((select auth.jwt()) ->> 'user_role') in ('finance', 'admin')
            and exists (select 1 from public.orders o where o.id::text = (storage.foldername(name))[1])
        )
    );

create policy "Admins can delete product images, and admin and finance staff order documents"
    on storage.objects for delete to authenticated
    using (
        (bucket_id = 'product-images' and ((select auth.jwt()) ->> 'user_role') = 'admin')
        or (bucket_id = 'order-documents' and ((select auth.jwt()) ->> 'user_role') in ('finance', 'admin'))
    );

-- ----------------------------------------------------------------------------
-- Image paths on the catalogue: a key inside the product-images bucket
-- (e.g. `merino-tee/front.png`), not a URL — clients build the public or
-- transform URL from it. Admins set them like the other catalogue columns.
-- ----------------------------------------------------------------------------

alter table public.products
    add column image_path text
        constraint products_image_path_is_a_key check (image_path is null or (length(image_path) between 1 and 1024 and image_path !~ '^/'));

alter table public.product_variants
    add column image_path text
        constraint product_variants_image_path_is_a_key check (image_path is null or (length(image_path) between 1 and 1024 and image_path !~ '^/'));

grant insert (image_path), update (image_path) on public.products to authenticated;
grant insert (image_path), update (image_path) on public.product_variants to authenticated;
