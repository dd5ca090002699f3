import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isAbortError, UserError } from '../../util/errors.js';
import { proxyAgentsFor } from '../../util/proxy.js';
import { Meter } from '../pipeline/streams.js';
import { DeleteError, type ObjectInfo, type Storage, type WriteOptions } from './types.js';

export interface S3StorageOptions {
  bucket: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** The input that sets `region`, named by the error a bucket in another region gets. */
  regionInput?: string;
  sse?: 'AES256' | 'aws:kms';
  sseKmsKeyId?: string;
  /** Parts uploaded at once. */
  queueSize?: number;
  /** Attempts per request (SDK standard retry mode: backoff with jitter on 5xx, throttling, resets). */
  maxAttempts?: number;
  /** Overrides the part size chosen from the expected size. */
  partSize?: number;
  client?: S3Client;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Times one read resumes after its body was cut short (the SDK itself retries only until the headers). */
export const MAX_READ_RESUMES = 5;

/**
 * The part size for an upload of about `expectedSize` bytes: S3's minimum of 5 MiB, or larger so that
 * even twice the expected size stays under S3's 10 000-part limit. 5 MiB parts carry objects up to
 * ~48 GiB; the backup passes the database's size on disk, so a 25 GiB database still gets 5 MiB parts and
 * a 1 TiB one 205 MiB parts (memory grows with the part size: about 5 parts are held at once).
 */
export function partSizeFor(expectedSize: number | undefined): number {
  const MiB = 1024 * 1024;
  if (!expectedSize || expectedSize <= 0) return MIN_PART_SIZE;
  const needed = Math.ceil((expectedSize * 2) / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, Math.ceil(needed / MiB) * MiB);
}

export function createS3Client(o: {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  regionInput?: string;
  maxAttempts?: number;
}): S3Client {
  const endpoint = o.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
  const region = o.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
  const config: S3ClientConfig = {
    region,
    forcePathStyle: o.forcePathStyle ?? Boolean(endpoint),
    maxAttempts: o.maxAttempts ?? 5,
    retryMode: 'standard',
  };
  if (endpoint) {
    config.endpoint = endpoint;
    // Many S3-compatible servers do not understand the SDK's default flexible checksums (aws-chunked
    // with trailers); send checksums only where an operation requires one.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, matched against the endpoint (or the region's AWS host): the SDK
  // itself reads none of them.
  const agents = proxyAgentsFor(endpoint ?? `https://s3.${region}.amazonaws.com`);
  if (agents.httpAgent || agents.httpsAgent) config.requestHandler = agents;
  const client = new S3Client(config);
  // Outermost (after the SDK's retries): set-up mistakes become errors that say which setting to change.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        throw explainS3Error(err, { region, regionInput: o.regionInput ?? 's3-region' });
      }
    },
    { step: 'initialize', name: 'pgdrExplainErrors' },
  );
  return client;
}

/**
 * A set-up mistake the SDK reports in its own terms, as a UserError naming the fix; any other error as is.
 * - no credentials ("Could not load credentials from any providers"): the two ways to give them;
 * - a bucket in another region (301 PermanentRedirect, AuthorizationHeaderMalformed, IllegalLocationConstraint):
 *   the region input, with the bucket's region when S3 said it.
 */
export function explainS3Error(err: unknown, o: { region: string; regionInput: string }): unknown {
  const e = err as {
    name?: string;
    message?: string;
    Region?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { headers?: Record<string, string | undefined> };
  };
  if (!e || typeof e !== 'object') return err;
  if (e.name === 'CredentialsProviderError' || /Could not load credentials from any providers/.test(e.message ?? '')) {
    return new UserError(
      'no AWS credentials were found. Give them one of two ways: as secrets in the job’s environment ' +
        '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY under the job’s env:, where a later OIDC step can still ' +
        'replace them — never as a step env: that blanks them), or by OIDC: an earlier step ' +
        'aws-actions/configure-aws-credentials with role-to-assume (the workflows’ aws-role-arn input) and ' +
        'permissions: id-token: write',
      { cause: err },
    );
  }
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const redirected =
    status === 301 ||
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException';
  if (!redirected) return err;
  const bucketRegion =
    e.Region ?? e.$response?.headers?.['x-amz-bucket-region'] ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1];
  return new UserError(
    `the bucket is not in region '${o.region}' (S3 answered ${name || status}` +
      `${bucketRegion ? `; the bucket is in '${bucketRegion}'` : ''}): set '${o.regionInput}' to the bucket's region` +
      `${bucketRegion ? ` (${o.regionInput}: ${bucketRegion})` : ''}`,
    { cause: err },
  );
}

/**
 * S3 Object Lock retention for one upload. AWS refuses a locked PutObject/UploadPart without an
 * integrity checksum (Content-MD5 or x-amz-checksum-*), and with a custom endpoint the client computes
 * checksums only when required: ask for CRC32 explicitly on those uploads.
 */
export function objectLockParams(retainUntil: WriteOptions['retainUntil']): {
  ObjectLockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  ObjectLockRetainUntilDate?: Date;
  ChecksumAlgorithm?: 'CRC32';
} {
  if (!retainUntil) return {};
  return { ObjectLockMode: retainUntil.mode, ObjectLockRetainUntilDate: retainUntil.date, ChecksumAlgorithm: 'CRC32' };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class S3Storage implements Storage {
  readonly location: string;
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(private readonly options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.location = `s3://${options.bucket}`;
    this.client = options.client ?? createS3Client(options);
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (err instanceof UserError) throw err; // already names the setting to change
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const why =
        status === 404
          ? 'the bucket does not exist'
          : status === 403
            ? 'access denied (check the credentials and the bucket policy)'
            : `${e.name ?? 'error'}: ${e.message ?? ''}`.trim();
      throw new Error(`cannot reach ${this.location}: ${why}`, { cause: err });
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new Error(`listing of s3://${this.bucket}/${prefix} was truncated without a continuation token`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * The object's bytes from `start`. A body cut short by the network (reset, or fewer bytes than the
   * Content-Length) is resumed with a Range request from the last byte received, pinned to the same
   * object by If-Match on its ETag, up to MAX_READ_RESUMES times; the SDK retries only until the headers.
   */
  async read(key: string, options: { signal?: AbortSignal; start?: number } = {}): Promise<Readable> {
    const start = options.start ?? 0;
    const first = await this.getObject(key, start, undefined, options.signal);
    return Readable.from(this.resumingBody(key, first, start, options.signal), { objectMode: false });
  }

  private async getObject(
    key: string,
    start: number,
    etag: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GetObjectCommandOutput & { Body: Readable }> {
    const r = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: start ? `bytes=${start}-` : undefined,
        IfMatch: etag,
      }),
      { abortSignal: signal },
    );
    if (!r.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return r as GetObjectCommandOutput & { Body: Readable };
  }

  private async *resumingBody(
    key: string,
    first: GetObjectCommandOutput & { Body: Readable },
    start: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    const etag = first.ETag;
    const end = first.ContentLength === undefined ? undefined : start + first.ContentLength;
    let offset = start;
    let body: Readable = first.Body;
    for (let resumes = 0; ; resumes++) {
      let failure: unknown;
      try {
        for await (const chunk of body) {
          offset += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (end === undefined || offset >= end) return;
        failure = new Error(`the body ended after ${offset} of ${end} bytes`);
      } catch (err) {
        if (signal?.aborted || (end !== undefined && offset >= end)) throw err;
        failure = err;
      }
      body.destroy();
      const where = `s3://${this.bucket}/${key}`;
      if (resumes >= MAX_READ_RESUMES) {
        throw new Error(
          `reading ${where} failed at byte ${offset}${end === undefined ? '' : ` of ${end}`} after ${resumes} resumed read(s): ${(failure as Error)?.message ?? failure}`,
          { cause: failure },
        );
      }
      await sleep(100 * (resumes + 1), undefined, { signal });
      const next = await this.getObject(key, offset, etag, signal);
      if (etag && next.ETag && next.ETag !== etag) {
        next.Body.destroy();
        throw new Error(`${where} changed while it was being read (ETag ${etag} became ${next.ETag})`);
      }
      body = next.Body;
    }
  }

  async readText(key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.read(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private sseParams(): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
    if (!this.options.sse) return {};
    return {
      ServerSideEncryption: this.options.sse as ServerSideEncryption,
      ...(this.options.sseKmsKeyId ? { SSEKMSKeyId: this.options.sseKmsKeyId } : {}),
    };
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<{ size: number }> {
    // Counted on the way in; the body is consumed only by the upload (a second 'data' consumer would
    // switch it to flowing mode and defeat backpressure).
    const meter = new Meter();
    const counted = pipeline(body, meter);
    counted.catch(() => {});
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: meter,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...this.sseParams(),
        ...objectLockParams(options.retainUntil),
      },
      // Memory is about (queueSize + 2) × partSize. Two 5 MiB parts in flight outrun the compressed stream
      // (~60-80 MB/s on 2 cores) and keep a backup under 150 MB RSS.
      queueSize: this.options.queueSize ?? 2,
      partSize: this.options.partSize ?? partSizeFor(options.expectedSize),
      leavePartsOnError: false,
    });
    const onAbort = (): void => {
      void upload.abort().catch(() => {});
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // If the body fails, lib-storage's reader throws and the upload aborts its multipart upload.
    let bodyError: unknown;
    counted.catch((err) => {
      bodyError = err;
      // If the body fails, lib-storage sees a failed stream and aborts its multipart upload.
    });
    try {
      await upload.done();
      await counted;
    } catch (err) {
      await upload.abort().catch(() => {});
      // upload.abort() settles before lib-storage's own clean-up has run (or while a CreateMultipartUpload
      // is still in flight), and the process may exit right after: abort whatever is left for this key.
      await this.abortIncompleteUploads(key);
      // A body destroyed with an AbortError was stopped by the upload giving up (lib-storage ends its read
      // of the body early): the upload's error is the cause.
      throw bodyError !== undefined && !isAbortError(bodyError) ? bodyError : err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return { size: meter.bytes };
  }

  async writeText(key: string, text: string, options: Omit<WriteOptions, 'expectedSize'> = {}): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: text,
        ContentType: key.endsWith('.json') ? 'application/json' : 'text/plain',
        ...this.sseParams(),
        ...objectLockParams(options.retainUntil),
      }),
      { abortSignal: options.signal },
    );
  }

  async writeTextIfAbsent(key: string, text: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: text,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ...this.sseParams(),
        }),
      );
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.$metadata?.httpStatusCode === 412 || e.name === 'PreconditionFailed') return false;
      // 409 ConditionalRequestConflict: a concurrent conditional write to the same key won.
      if (e.$metadata?.httpStatusCode === 409) return false;
      throw err;
    }
  }

  async delete(keys: string[]): Promise<{ deleted: string[] }> {
    const deleted: string[] = [];
    const failed: Array<{ key: string; code: string; message: string }> = [];
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const r = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
        }),
      );
      const errored = new Set<string>();
      for (const e of r.Errors ?? []) {
        errored.add(e.Key ?? '');
        failed.push({ key: e.Key ?? '?', code: e.Code ?? 'Error', message: e.Message ?? '' });
      }
      for (const k of batch) if (!errored.has(k)) deleted.push(k);
    }
    if (failed.length) {
      throw new DeleteError(
        `could not delete ${failed.length} object(s): ${failed
          .slice(0, 5)
          .map((f) => `${f.key} (${f.code})`)
          .join(', ')}${failed.length > 5 ? ', …' : ''}`,
        deleted,
        failed,
      );
    }
    return { deleted };
  }

  /** Aborts every unfinished multipart upload of exactly `key`; best effort (used on failure paths). */
  private async abortIncompleteUploads(key: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 250));
    try {
      for (const u of await this.listIncompleteUploads(key)) {
        if (u.key !== key) continue;
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: u.uploadId }))
          .catch(() => {});
      }
    } catch {
      // Listing uploads may be denied or unsupported; lib-storage has already tried to abort.
    }
  }

  async listIncompleteUploads(prefix: string): Promise<Array<{ key: string; uploadId: string; initiated?: Date }>> {
    const out: Array<{ key: string; uploadId: string; initiated?: Date }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of r.Uploads ?? []) {
        if (u.Key && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
      }
      keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
      uploadIdMarker = r.IsTruncated ? r.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return out;
  }
}
