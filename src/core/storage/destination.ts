import path from 'node:path';
import { UserError } from '../../util/errors.js';
import { normalizePrefix } from '../layout.js';

export type Destination =
  | { kind: 's3'; bucket: string; prefix: string; url: string }
  | { kind: 'local'; root: string; prefix: string; url: string };

export interface S3Options {
  endpoint?: string;
  region?: string;
  /** The input that set `region`, for errors that name it. */
  regionInput?: string;
  forcePathStyle?: boolean;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/prefix` or a local directory path (absolute, `./rel`, `~/x` or a plain relative path). */
export function parseDestination(value: string, input = 'destination'): Destination {
  const v = value.trim();
  if (!v) throw new UserError(`'${input}' is required: an s3://bucket/prefix URL or a local directory path`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v);
  if (scheme) {
    if (scheme[1]?.toLowerCase() !== 's3') {
      throw new UserError(
        `'${input}' must be s3://bucket/prefix or a local directory path; '${scheme[1]}://' is not supported`,
      );
    }
    const rest = v.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!bucket) throw new UserError(`'${input}' names no bucket: write s3://<bucket>/<prefix>`);
    if (!BUCKET_RE.test(bucket)) {
      throw new UserError(`'${input}': '${bucket}' is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')`);
    }
    if (bucket.includes('@') || rest.includes('@')) {
      throw new UserError(`'${input}' must not hold credentials; use the AWS credential chain instead`);
    }
    const prefix = normalizePrefix(slash === -1 ? '' : rest.slice(slash + 1));
    return { kind: 's3', bucket, prefix, url: `s3://${bucket}${prefix ? `/${prefix}` : ''}` };
  }
  if (/^[a-z]+:[^\\/]/i.test(v) && !/^[a-z]:[\\/]/i.test(v)) {
    throw new UserError(`'${input}' must be s3://bucket/prefix or a local directory path (got '${v}')`);
  }
  const expanded = v.startsWith('~/') ? path.join(process.env.HOME ?? '', v.slice(2)) : v;
  const root = path.resolve(expanded);
  return { kind: 'local', root, prefix: '', url: root };
}
