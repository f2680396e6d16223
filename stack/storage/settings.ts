// The [storage] section of config.toml, validated: a bad value fails at start naming the key.
//
//   [storage]                        enabled, file_size_limit ("50MiB")
//   [storage.image_transformation]   enabled (off unless the section says so, as the CLI)
//   [storage.buckets.<name>]         public, file_size_limit, allowed_mime_types, objects_path
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type ProjectConfig } from '../config.js';
import { mustBeValidBucketName, parseConfigSize } from './limits.js';

export interface ConfiguredBucket {
    name: string;
    public: boolean;
    fileSizeLimit: number | null;
    allowedMimeTypes: string[] | null;
    /** Absolute directory whose files are uploaded into the bucket at start, or undefined. */
    objectsPath: string | undefined;
}

export interface StorageSettings {
    enabled: boolean;
    /** Global upload limit in bytes. */
    fileSizeLimit: number;
    imageTransformation: boolean;
    buckets: ConfiguredBucket[];
}

export const DEFAULT_FILE_SIZE_LIMIT = 50 * 1024 * 1024;

const Size = z.union([z.string(), z.number()]).refine((v) => parseConfigSize(v) !== undefined, 'expected a size such as "50MiB"');

const BucketSchema = z
    .object({
        public: z.boolean().default(false),
        file_size_limit: Size.optional(),
        allowed_mime_types: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$|^\*$/, 'expected type/subtype')).optional(),
        objects_path: z.string().min(1).optional(),
    })
    .passthrough();

const StorageSchema = z
    .object({
        enabled: z.boolean().default(true),
        file_size_limit: Size.default('50MiB'),
        image_transformation: z.object({ enabled: z.boolean().default(true) }).passthrough().optional(),
        buckets: z.record(z.string(), BucketSchema).default({}),
    })
    .passthrough();

export function storageSettings(config: ProjectConfig): StorageSettings {
    const result = StorageSchema.safeParse(config.raw.storage ?? {});
    if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new ConfigError(`[storage] ${issue.path.join('.')}: ${issue.message}`);
    }
    const section = result.data;
    const supabaseDir = path.join(config.workdir, 'supabase');
    const buckets = Object.entries(section.buckets).map(([name, bucket]): ConfiguredBucket => {
        try {
            mustBeValidBucketName(name);
        } catch {
            throw new ConfigError(`[storage.buckets.${name}]: invalid bucket name`);
        }
        return {
            name,
            public: bucket.public,
            fileSizeLimit: bucket.file_size_limit === undefined ? null : parseConfigSize(bucket.file_size_limit)!,
            allowedMimeTypes: bucket.allowed_mime_types ?? null,
            objectsPath: bucket.objects_path ? path.resolve(supabaseDir, bucket.objects_path) : undefined,
        };
    });
    return {
        enabled: section.enabled,
        fileSizeLimit: parseConfigSize(section.file_size_limit)!,
        imageTransformation: section.image_transformation?.enabled ?? false,
        buckets,
    };
}
