import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * Where the library keeps its files (docs/content.md §Storage): a folder on local disk by default, or an
 * S3-compatible bucket so several instances see the same files. Keys are the library's own (`yyyy/mm/<id>.<ext>`);
 * nothing a client sends becomes a path.
 */
export interface ContentStorage {
  readonly kind: 'local' | 's3';
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  remove(key: string): Promise<void>;
}

const KEY = /^[0-9]{4}\/[0-9]{2}\/[0-9a-f-]{36}\.[a-z0-9]{1,8}$/;

function checkKey(key: string): void {
  // Defence in depth: keys are made by the service, never taken from a request.
  if (!KEY.test(key)) throw new Error(`invalid content storage key: ${key}`);
}

/** Files under one folder, written to a temporary name and renamed, so a crash never leaves half a file. */
export class LocalDiskStorage implements ContentStorage {
  readonly kind = 'local' as const;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, path);
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    checkKey(key);
    const path = join(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) throw new Error(`content key escapes the folder: ${key}`);
    return path;
  }
}

/** Settings of the S3-compatible option (AWS S3, MinIO, Ceph RGW, COS/OSS in S3 mode…). */
export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** Empty for AWS itself; the service's URL otherwise. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (bucket in the path), which most self-hosted services need. */
  forcePathStyle: boolean;
  /** Keys go under this prefix, so one bucket can serve several deployments. */
  prefix: string;
}

/** Files in an S3-compatible bucket through the official AWS SDK (@aws-sdk/client-s3). */
export class S3Storage implements ContentStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly opts: S3StorageOptions) {
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint || undefined,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.accessKeyId && opts.secretAccessKey ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } : undefined,
      // The SDK retries throttling and 5xx answers itself (three attempts with backoff).
      maxAttempts: 3,
    });
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    checkKey(key);
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: this.opts.prefix + key, Body: data, ContentType: contentType, ContentLength: data.length }));
  }

  async get(key: string): Promise<Buffer> {
    checkKey(key);
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.opts.prefix + key }));
    if (!res.Body) throw new Error(`empty object ${key}`);
    return Buffer.from(await res.Body.transformToByteArray());
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.opts.prefix + key }));
  }
}
