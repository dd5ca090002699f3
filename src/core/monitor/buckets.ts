/**
 * Bucket settings that protect data outside the database (attachments, transcripts): versioning must be
 * enabled, and replication configured when required. Read with GetBucketVersioning / GetBucketReplication.
 */
import { describeError } from '../../util/errors.js';
import type { CheckResult } from './checks.js';

export interface ReplicationInfo {
  enabledRules: number;
  destinations: string[];
}

/** The port: how a bucket's settings are read (S3BucketAuditor in s3-buckets.ts; a stand-in in tests). */
export interface BucketAuditor {
  /** 'Enabled', 'Suspended', or '' when versioning was never enabled. */
  versioning(bucket: string): Promise<string>;
  /** null when the bucket has no replication configuration. */
  replication(bucket: string): Promise<ReplicationInfo | null>;
}

export async function auditBucket(
  auditor: BucketAuditor,
  bucket: string,
  requireReplication: boolean,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const check = `Versioning (${bucket})`;
  try {
    const status = await auditor.versioning(bucket);
    out.push(
      status === 'Enabled'
        ? { check, value: 'Enabled', threshold: 'Enabled', level: 'ok', message: `${bucket}: versioning enabled` }
        : {
            check,
            value: status || 'never enabled',
            threshold: 'Enabled',
            level: 'critical',
            message: `bucket ${bucket} does not have versioning enabled (${status || 'never enabled'}): a deleted or overwritten object cannot be recovered`,
          },
    );
  } catch (err) {
    out.push({
      check,
      value: 'unknown',
      threshold: 'Enabled',
      level: 'warning',
      message: `could not read the versioning of bucket ${bucket} (needs s3:GetBucketVersioning): ${describeError(err)}`,
    });
  }
  if (!requireReplication) return out;
  const rcheck = `Replication (${bucket})`;
  try {
    const r = await auditor.replication(bucket);
    out.push(
      r && r.enabledRules > 0
        ? {
            check: rcheck,
            value: `${r.enabledRules} rule(s) → ${r.destinations.join(', ')}`,
            threshold: 'an enabled rule',
            level: 'ok',
            message: `${bucket}: replication enabled`,
          }
        : {
            check: rcheck,
            value: r ? 'no enabled rule' : 'not configured',
            threshold: 'an enabled rule',
            level: 'critical',
            message: `bucket ${bucket} is not replicated (${r ? 'no enabled rule' : 'no replication configuration'}), but require-replication is set`,
          },
    );
  } catch (err) {
    out.push({
      check: rcheck,
      value: 'unknown',
      threshold: 'an enabled rule',
      level: 'warning',
      message: `could not read the replication of bucket ${bucket} (needs s3:GetReplicationConfiguration): ${describeError(err)}`,
    });
  }
  return out;
}
