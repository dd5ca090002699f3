/**
 * The BucketAuditor for S3: GetBucketVersioning / GetBucketReplication. Loaded only when monitor audits
 * a bucket (commands/monitor.ts imports it dynamically), so other runs never load the AWS SDK for it.
 */
import { GetBucketReplicationCommand, GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BucketAuditor, ReplicationInfo } from './buckets.js';

export class S3BucketAuditor implements BucketAuditor {
  constructor(private readonly client: S3Client) {}

  async versioning(bucket: string): Promise<string> {
    const r = await this.client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    return r.Status ?? '';
  }

  async replication(bucket: string): Promise<ReplicationInfo | null> {
    try {
      const r = await this.client.send(new GetBucketReplicationCommand({ Bucket: bucket }));
      const rules = (r.ReplicationConfiguration?.Rules ?? []).filter((x) => x.Status === 'Enabled');
      return {
        enabledRules: rules.length,
        destinations: rules.map((x) => x.Destination?.Bucket ?? '?'),
      };
    } catch (err) {
      if ((err as { name?: string }).name === 'ReplicationConfigurationNotFoundError') return null;
      throw err;
    }
  }
}
