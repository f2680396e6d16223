// Every error /storage/v1 answers, with Supabase Storage's codes, texts and its status quirk:
// the body carries the real status in `statusCode` (a string) while the HTTP status is 400
// for anything below 500, except where Storage itself answers otherwise (416 for a bad
// Range, 403 on service-role-only routes, 404 for an unknown route).

export interface StorageErrorBody {
    statusCode: string;
    error: string;
    message: string;
    code: string;
}

export class StorageError extends Error {
    constructor(
        /** The status Storage puts in the body. */
        readonly statusCode: number,
        readonly code: string,
        readonly error: string,
        message: string,
        /** The HTTP status when it is not the usual 400-for-client-errors. */
        readonly httpStatus?: number,
    ) {
        super(message);
    }

    body(): StorageErrorBody {
        return { statusCode: String(this.statusCode), code: this.code, error: this.error, message: this.message };
    }

    /** The HTTP status the response goes out with. */
    status(): number {
        if (this.httpStatus !== undefined) return this.httpStatus;
        return this.statusCode >= 500 ? 500 : 400;
    }
}

export const errors = {
    noSuchBucket: () => new StorageError(404, 'NoSuchBucket', 'Bucket not found', 'Bucket not found'),
    noSuchKey: () => new StorageError(404, 'NoSuchKey', 'not_found', 'Object not found'),
    keyAlreadyExists: () => new StorageError(409, 'KeyAlreadyExists', 'Duplicate', 'The resource already exists'),
    bucketAlreadyExists: () => new StorageError(409, 'BucketAlreadyExists', 'Duplicate', 'The resource already exists'),
    rlsViolation: () => new StorageError(403, 'AccessDenied', 'Unauthorized', 'new row violates row-level security policy'),
    accessDenied: (message = 'Access denied') => new StorageError(403, 'AccessDenied', 'Unauthorized', message),
    /** Routes only the service role may call answer a real HTTP 403. */
    serviceRoleOnly: () => new StorageError(403, 'AccessDenied', 'Unauthorized', 'Access denied', 403),
    invalidJwt: (message: string) => new StorageError(400, 'InvalidJWT', 'InvalidJWT', message),
    invalidSignature: () => new StorageError(400, 'InvalidSignature', 'InvalidSignature', 'Invalid signature'),
    entityTooLarge: () => new StorageError(413, 'EntityTooLarge', 'Payload too large', 'The object exceeded the maximum allowed size'),
    invalidMimeType: (mimeType: string) => new StorageError(415, 'InvalidMimeType', 'invalid_mime_type', `mime type ${mimeType} is not supported`),
    bucketNotEmpty: () => new StorageError(409, 'ResourceNotEmpty', 'ResourceNotEmpty', 'The bucket you tried to delete is not empty'),
    invalidKey: (key: string) => new StorageError(400, 'InvalidKey', 'InvalidKey', `Invalid key: ${key}`),
    invalidBucketName: () => new StorageError(400, 'InvalidBucketName', 'Invalid Input', 'Bucket name invalid'),
    invalidRequest: (message: string) => new StorageError(400, 'InvalidRequest', 'Bad Request', message),
    invalidRange: () => new StorageError(416, 'InvalidRange', 'Requested Range Not Satisfiable', 'Requested Range Not Satisfiable', 416),
    invalidFileSizeLimit: () => new StorageError(400, 'InvalidRequest', 'Invalid File Size Limit', 'Invalid File Size Limit'),
    bucketLimitAboveGlobal: () =>
        new StorageError(413, 'EntityTooLarge', 'Payload too large', 'File size limit exceeds the maximum allowed by the server'),
    notFoundRoute: (method: string, path: string) => new StorageError(404, 'InvalidRequest', 'Not Found', `Route ${method}:${path} not found`, 404),
    imageTransformationDisabled: () => new StorageError(400, 'FeatureNotEnabled', 'Feature not enabled', 'Image Transformation is not enabled for this project'),
    notAnImage: () => new StorageError(415, 'InvalidMimeType', 'invalid_mime_type', 'The object is not an image that can be transformed'),
    internal: () => new StorageError(500, 'InternalError', 'Internal', 'Internal Server Error'),
    databaseTimeout: () => new StorageError(544, 'DatabaseTimeout', 'DatabaseTimeout', 'timeout acquiring a database connection', 544),
};

/** Maps a Postgres failure of a caller's statement to Storage's error (the rest is internal). */
export function fromPgError(error: unknown, duplicate: () => StorageError = errors.keyAlreadyExists): StorageError | undefined {
    const code = (error as { code?: unknown })?.code;
    if (code === '42501') return errors.rlsViolation();
    if (code === '23505') return duplicate();
    if (code === '23503') return errors.noSuchBucket();
    return undefined;
}

export function errorResponse(error: StorageError): Response {
    return new Response(JSON.stringify(error.body()), {
        status: error.status(),
        headers: { 'content-type': 'application/json; charset=utf-8' },
    });
}
