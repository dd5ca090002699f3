/**
 * Reading user input, shared by the actions (core.getInput) and the CLI (flags and PGDR_* environment):
 * both hand over a getter, and every parse error names the input and says what to change.
 */
import { UserError } from '../util/errors.js';
import { registerSecret } from '../util/secrets.js';
import { parseBoolean, parseChoice } from '../util/units.js';
import { type Destination, openStorage, parseDestination, type Storage } from './storage/index.js';

/** Returns the raw value of an input (kebab-case name), or '' when not given. */
export type InputGetter = (name: string) => string;

export function secretInput(get: InputGetter, name: string): string {
  const v = get(name);
  registerSecret(v);
  return v;
}

export interface DestinationConfig {
  destination: Destination;
  s3: {
    endpoint?: string;
    region?: string;
    forcePathStyle?: boolean;
    sse?: 'AES256' | 'aws:kms';
    sseKmsKeyId?: string;
  };
}

export function readDestination(get: InputGetter, prefix = ''): DestinationConfig {
  const destination = parseDestination(get(`${prefix}destination`), `${prefix}destination`);
  const endpoint = get(`${prefix}s3-endpoint`).trim() || undefined;
  if (endpoint) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new UserError(
        `'${prefix}s3-endpoint' must be a URL like https://minio.example.com:9000 (got '${endpoint}')`,
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UserError(`'${prefix}s3-endpoint' must start with http:// or https://`);
    }
    if (u.username || u.password) {
      throw new UserError(
        `'${prefix}s3-endpoint' must not hold credentials; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
      );
    }
  }
  const fps = get(`${prefix}s3-force-path-style`);
  return {
    destination,
    s3: {
      endpoint,
      region: get(`${prefix}s3-region`).trim() || undefined,
      forcePathStyle: fps.trim() ? parseBoolean(fps, `${prefix}s3-force-path-style`) : undefined,
    },
  };
}

/** S3 server-side encryption for objects this command writes (`sse`, `sse-kms-key-id`). */
export function readServerSideEncryption(get: InputGetter): Pick<DestinationConfig['s3'], 'sse' | 'sseKmsKeyId'> {
  const sseRaw = get('sse');
  const sse = sseRaw ? parseChoice(sseRaw, 'sse', ['aes256', 'aws:kms'] as const) : undefined;
  const sseKmsKeyId = get('sse-kms-key-id').trim() || undefined;
  if (sseKmsKeyId && sse !== 'aws:kms') throw new UserError(`'sse-kms-key-id' needs 'sse: aws:kms'`);
  return { sse: sse === 'aes256' ? 'AES256' : sse, sseKmsKeyId };
}

export function storageFor(cfg: DestinationConfig): Storage {
  return openStorage(cfg.destination, cfg.s3);
}
