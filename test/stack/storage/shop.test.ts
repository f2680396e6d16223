// The shop's buckets and policies (supabase/migrations/*_catalog_storage.sql) attacked and
// used through supabase-js: product images are public to read and written only by admins;
// order documents are read only by the order's customer and staff, through signed URLs.
// Every denial also checks that nothing changed.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, createStaff, placeOrder, type Staff } from '../../harness/commerce-shop.js';
import type { TestUser } from '../../harness/db.js';
import { useStorageService } from '../../harness/storage.js';

const storage = useStorageService();
const { db } = storage;

let admin: Staff;
let finance: Staff;
let support: Staff;
let ada: TestUser;
let grace: TestUser;
let orderId: string;
const png = (seed: number) => new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, seed])], { type: 'image/png' });
const staffClient = (s: Staff) => storage.user(s.id, { user_role: s.role });

/** MD5 of the stored bytes of an object, or undefined when there is no such object. */
async function storedEtag(bucket: string, name: string): Promise<string | undefined> {
    const [row] = await db.query<{ etag: string }>(`select metadata ->> 'eTag' as etag from storage.objects where bucket_id = $1 and name = $2`, [bucket, name]);
    return row?.etag;
}

beforeAll(async () => {
    admin = await createStaff(db, 'admin');
    finance = await createStaff(db, 'finance');
    support = await createStaff(db, 'support');
    ada = await db.createUser();
    grace = await db.createUser();
    const shop = await createShop(db);
    orderId = (await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }])).id;
    const client = await staffClient(admin);
    const up = await client.storage.from('product-images').upload('tee/front.png', png(1));
    expect(up.error).toBeNull();
});

describe('product-images', () => {
    it('anon cannot upload a product image, and nothing is stored', async () => {
        const result = await storage.anon().storage.from('product-images').upload('tee/anon.png', png(2));
        expect(result.error).toMatchObject({ statusCode: '403', message: 'new row violates row-level security policy' });
        expect(await storedEtag('product-images', 'tee/anon.png')).toBeUndefined();
    });

    it('a customer cannot add, overwrite or delete a product image', async () => {
        const before = await storedEtag('product-images', 'tee/front.png');
        const client = await storage.user(ada.id);
        expect((await client.storage.from('product-images').upload('tee/new.png', png(3))).error).toMatchObject({ statusCode: '403' });
        expect((await client.storage.from('product-images').upload('tee/front.png', png(4), { upsert: true })).error).toMatchObject({ statusCode: '403' });
        expect((await client.storage.from('product-images').update('tee/front.png', png(5))).error).toMatchObject({ statusCode: '403' });
        expect((await client.storage.from('product-images').remove(['tee/front.png'])).data).toEqual([]);
        expect((await client.storage.from('product-images').move('tee/front.png', 'tee/moved.png')).error).not.toBeNull();
        expect(await storedEtag('product-images', 'tee/front.png')).toBe(before);
        expect(await storedEtag('product-images', 'tee/new.png')).toBeUndefined();
    });

    it('staff other than admins cannot write product images either', async () => {
        const client = await staffClient(support);
        expect((await client.storage.from('product-images').upload('tee/support.png', png(6))).error).toMatchObject({ statusCode: '403' });
    });

    it('an admin uploads, replaces and deletes product images', async () => {
        const client = await staffClient(admin);
        const bucket = client.storage.from('product-images');
        expect((await bucket.upload('mug/front.png', png(7))).error).toBeNull();
        expect((await bucket.upload('mug/front.png', png(8), { upsert: true })).error).toBeNull();
        expect(await storedEtag('product-images', 'mug/front.png')).toBe(`"${createHash('md5').update(Buffer.from([0x89, 0x50, 0x4e, 0x47, 8])).digest('hex')}"`);
        expect((await bucket.remove(['mug/front.png'])).data!.map((r) => r.name)).toEqual(['mug/front.png']);
        expect(await storedEtag('product-images', 'mug/front.png')).toBeUndefined();
    });

    it('everyone reads product images: public URL without a key, download as anon and as a customer', async () => {
        const { publicUrl } = storage.anon().storage.from('product-images').getPublicUrl('tee/front.png').data;
        expect((await fetch(publicUrl)).status).toBe(200);
        expect((await storage.anon().storage.from('product-images').download('tee/front.png')).error).toBeNull();
        expect((await (await storage.user(grace.id)).storage.from('product-images').download('tee/front.png')).error).toBeNull();
    });

    it('only web image types within 5 MB are accepted', async () => {
        const client = await staffClient(admin);
        const result = await client.storage.from('product-images').upload('tee/notes.txt', new Blob(['x'], { type: 'text/plain' }));
        expect(result.error).toMatchObject({ statusCode: '415' });
    });

    it('products carry an image path that admins set and customers cannot', async () => {
        const [product] = await db.query<{ id: string }>(`select id from public.products limit 1`);
        await db.asUser(admin.token(), (q) => q(`update public.products set image_path = 'tee/front.png' where id = $1`, [product!.id]));
        const updated = await db.asUser(ada, (q) => q(`update public.products set image_path = 'evil.png' where id = $1 returning id`, [product!.id]));
        expect(updated).toEqual([]);
        const [row] = await db.query<{ image_path: string }>(`select image_path from public.products where id = $1`, [product!.id]);
        expect(row!.image_path).toBe('tee/front.png');
        await expect(db.query(`update public.products set image_path = '/absolute.png' where id = $1`, [product!.id])).rejects.toMatchObject({ code: '23514' });
    });
});

describe('order-documents', () => {
    const invoice = () => `${orderId}/invoice.pdf`;
    const pdf = () => new Blob(['%PDF-1.4 invoice'], { type: 'application/pdf' });

    beforeAll(async () => {
        const client = await staffClient(finance);
        const up = await client.storage.from('order-documents').upload(invoice(), pdf());
        expect(up.error).toBeNull();
    });

    it("the order's customer reads the document through a signed URL", async () => {
        const client = await storage.user(ada.id);
        const signed = await client.storage.from('order-documents').createSignedUrl(invoice(), 300);
        expect(signed.error).toBeNull();
        const response = await fetch(signed.data!.signedUrl);
        expect(await response.text()).toBe('%PDF-1.4 invoice');
    });

    it("another customer can neither sign, download nor list someone else's order documents", async () => {
        const client = await storage.user(grace.id);
        expect((await client.storage.from('order-documents').createSignedUrl(invoice(), 300)).error).toMatchObject({ statusCode: '404' });
        expect((await client.storage.from('order-documents').download(invoice())).error).toMatchObject({ statusCode: '404' });
        expect((await client.storage.from('order-documents').list(orderId)).data).toEqual([]);
        expect((await client.storage.from('order-documents').createSignedUrls([invoice()], 300)).data![0]!.signedUrl).toBeNull();
    });

    it('anon gets nothing: no signed URL, no public URL', async () => {
        expect((await storage.anon().storage.from('order-documents').createSignedUrl(invoice(), 300)).error).toMatchObject({ statusCode: '404' });
        const response = await fetch(storage.anon().storage.from('order-documents').getPublicUrl(invoice()).data.publicUrl);
        expect(await response.json()).toMatchObject({ statusCode: '404', message: 'Bucket not found' });
    });

    it('staff read every order document; customers cannot write or delete them', async () => {
        const supportClient = await staffClient(support);
        expect((await supportClient.storage.from('order-documents').createSignedUrl(invoice(), 300)).error).toBeNull();
        const before = await storedEtag('order-documents', invoice());
        const customer = await storage.user(ada.id);
        expect((await customer.storage.from('order-documents').upload(invoice(), pdf(), { upsert: true })).error).toMatchObject({ statusCode: '403' });
        expect((await customer.storage.from('order-documents').remove([invoice()])).data).toEqual([]);
        expect((await supportClient.storage.from('order-documents').upload(`${orderId}/slip.pdf`, pdf())).error).toMatchObject({ statusCode: '403' });
        expect(await storedEtag('order-documents', invoice())).toBe(before);
    });

    it('documents can only be filed under an existing order', async () => {
        const client = await staffClient(finance);
        const result = await client.storage.from('order-documents').upload('00000000-0000-4000-8000-000000000000/invoice.pdf', pdf());
        expect(result.error).toMatchObject({ statusCode: '403' });
    });
});
