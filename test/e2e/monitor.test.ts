/**
 * The bundled monitor action, run as the runner runs it, against backups on the S3 server: real backups
 * from the bundled backup action, and synthetic manifests/objects written at the right keys for ages,
 * sizes and interrupted runs. WAL archiving is checked on a real PostgreSQL whose archive_command fails.
 * Bucket versioning/replication go through a small HTTP stand-in in front of s3rver (which answers 409 to
 * versioning): it answers GetBucketVersioning/GetBucketReplication itself and forwards everything else.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, serializeManifest } from '../../src/core/manifest.js';
import { runAction, runCli } from '../harness/action.js';
import { clientBin, createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { makeKeyPair } from '../harness/gpg-keys.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import {
  objectsOf,
  putObjects,
  type SyntheticBackup,
  syntheticBackup,
  TEST_AUTH_PASSPHRASE,
  testSigner,
} from '../harness/synthetic-backups.js';

const HOUR = 3600_000;

/** Workflow-command lines as the runner shows them (`%` is sent as %25, newlines as %0A). */
function decodeCommand(lines: string[]): string {
  return lines.join('\n').replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
}

function s3Inputs(bucket: string, endpoint = s3Endpoint()): Record<string, string> {
  return { destination: `s3://${bucket}/db`, 's3-endpoint': endpoint, 's3-force-path-style': 'true' };
}

/** The destination and the key the synthetic backups are authenticated with (monitor requires one). */
function monitorInputs(bucket: string, endpoint = s3Endpoint()): Record<string, string> {
  return { ...s3Inputs(bucket, endpoint), 'encryption-passphrase': TEST_AUTH_PASSPHRASE };
}

/**
 * A backup of `size` stored bytes and `rows` rows, `hoursAgo` old, that monitor counts as real (not marked
 * synthetic); its manifest is edited, so it is authenticated again.
 */
async function synthetic(hoursAgo: number, size = 1000, rows = 500, name = 'main'): Promise<SyntheticBackup> {
  const b = await syntheticBackup('db', name, new Date(Date.now() - hoursAgo * HOUR), size, { synthetic: false });
  const m = parseManifest(b.manifest);
  m.totals = { tables: 1, rows };
  const manifest = serializeManifest(m);
  return { ...b, manifest, authenticator: await (await testSigner()).sign(Buffer.from(manifest)) };
}

async function bucketWith(
  backups: Array<Promise<SyntheticBackup>>,
  extra: Array<[string, string | Buffer]> = [],
): Promise<string> {
  const bucket = await createBucket(s3Endpoint(), 'mon');
  await putObjects(testS3Client(s3Endpoint()), bucket, [...objectsOf(await Promise.all(backups)), ...extra]);
  return bucket;
}

describe('monitor action (bundled, against the S3 server)', () => {
  let source: string;
  beforeAll(() => {
    source = createDatabase('monitor');
    psql(
      source,
      'CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g',
    );
  });

  it('a fresh real backup is ok, with its key and age as outputs and a table of checks', async () => {
    const bucket = await createBucket(s3Endpoint(), 'mon');
    // Unencrypted, so signed with a signing key; monitor checks it with the public half.
    const signing = makeKeyPair('monitor e2e signing <monitor@example.invalid>');
    const backup = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      name: 'main',
      encryption: 'none',
      'signing-key': signing.privateKey,
    });
    expect(backup.errors).toEqual([]);
    expect(backup.status).toBe(0);
    const r = await runAction('monitor', {
      ...s3Inputs(bucket),
      'signing-public-key': signing.publicKey,
      capacity: '1GiB',
    });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.outputs.status).toBe('ok');
    expect(r.outputs['newest-backup-key']).toBe(backup.outputs.key);
    // The major the restore test's scratch server must have: the test server's, as its manifest records it.
    const serverMajor = psql(source, 'SHOW server_version_num').trim().slice(0, -4);
    expect(r.outputs['newest-backup-server-major']).toBe(serverMajor);
    expect(Number(r.outputs['newest-backup-age-seconds'])).toBeLessThan(600);
    expect(Number(r.outputs['used-bytes'])).toBeGreaterThanOrEqual(Number(backup.outputs.size));
    expect(r.outputs.findings).toBe('');
    expect(r.summary).toContain('| Verdict | Check | Value | Threshold |');
    expect(r.summary).toMatch(/\| ✅ ok \| Newest backup age \(main\) \| .* \| ≤ 1d 1h \|/);

    // With a key that does not authenticate it, the same backup counts for nothing, and says why.
    const wrongKey = await runAction('monitor', monitorInputs(bucket));
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.outputs.status).toBe('critical');
    expect(wrongKey.outputs['newest-backup-key'] ?? '').toBe('');
    expect(wrongKey.outputs.findings).toMatch(/^warning: main: 1 manifest\(s\) do not authenticate and are ignored/m);
    expect(wrongKey.summary).toContain('| ⚠️ warning | Unauthenticated manifests (main) | 1 |');
  });

  it('refuses to run without a key that authenticates the backups, naming both inputs', async () => {
    const bucket = await bucketWith([synthetic(1)]);
    const r = await runAction('monitor', s3Inputs(bucket));
    expect(r.status).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /monitor acts only on authenticated backups: set 'encryption-passphrase'.*'signing-public-key'/,
    );
    expect(r.outputs.status).toBeUndefined();
  });

  it('neither a synthetic backup (pgdr synth) nor a manifest without authenticator makes a set fresh', async () => {
    const old = await synthetic(30);
    const marked = await syntheticBackup('db', 'main', new Date(Date.now() - HOUR));
    const unsigned = await synthetic(2);
    const bucket = await bucketWith(
      [Promise.resolve(old), Promise.resolve(marked)],
      [
        [unsigned.dataKey, unsigned.body],
        [unsigned.manifestKey, unsigned.manifest],
      ],
    );
    const r = await runAction('monitor', monitorInputs(bucket));
    expect(r.status).toBe(1);
    expect(r.outputs['newest-backup-key']).toBe(old.dataKey);
    expect(r.outputs.findings).toMatch(/^critical: the newest backup of main is 1d 6h old/m);
    expect(r.outputs.findings).toContain(
      `warning: main: 1 manifest(s) do not authenticate and are ignored (never restored, pruned or counted), e.g. ${unsigned.manifestKey}`,
    );
  });

  it('a backup older than max-age is critical, with the age in the message', async () => {
    const bucket = await bucketWith([synthetic(30), synthetic(54)]);
    const r = await runAction('monitor', monitorInputs(bucket));
    expect(r.status).toBe(1);
    expect(r.outputs.status).toBe('critical');
    expect(r.errors.join('\n')).toMatch(/the newest backup of main is 1d 6h old \(max-age 1d 1h\)/);
    expect(r.outputs.findings).toMatch(/^critical: the newest backup of main is 1d 6h old/m);
    expect(Number(r.outputs['newest-backup-age-seconds'])).toBeGreaterThanOrEqual(30 * 3600);

    const relaxed = await runAction('monitor', { ...monitorInputs(bucket), 'max-age': '2d' });
    expect(relaxed.outputs.status).toBe('ok');
    const reportOnly = await runAction('monitor', { ...monitorInputs(bucket), 'fail-on': 'never' });
    expect(reportOnly.status).toBe(0);
    expect(reportOnly.warnings.join('\n')).toMatch(/critical: the newest backup of main is 1d 6h old/);
  });

  it('no backup at all is critical', async () => {
    const bucket = await createBucket(s3Endpoint(), 'mon');
    const r = await runAction('monitor', monitorInputs(bucket));
    expect(r.status).toBe(1);
    expect(r.errors.join()).toMatch(/no backups at all under s3:\/\/mon-.*\/db/);
    const named = await runAction('monitor', { ...monitorInputs(bucket), name: 'main' });
    expect(named.errors.join()).toMatch(/no backup of main has a valid manifest/);
  });

  it('a data object without a manifest does not count as a backup', async () => {
    const old = await synthetic(30);
    const interrupted = await synthetic(1);
    const bucket = await bucketWith([Promise.resolve(old)], objectsOf([interrupted], { withManifest: false }));
    const r = await runAction('monitor', monitorInputs(bucket));
    expect(r.outputs.status).toBe('critical');
    expect(r.outputs['newest-backup-key']).toBe(old.dataKey);
    expect(r.outputs.findings).toContain(
      `warning: main: 1 newer data object(s) without a manifest (an interrupted backup does not count): ${interrupted.dataKey}`,
    );
  });

  it('usage at 85 % of capacity is a warning, at 95 % critical', async () => {
    const bucket = await bucketWith([synthetic(1, 4000), synthetic(25, 4000), synthetic(49, 4000)]);
    const probe = await runAction('monitor', monitorInputs(bucket));
    const used = Number(probe.outputs['used-bytes']);
    expect(used).toBeGreaterThan(12000);

    const at85 = await runAction('monitor', { ...monitorInputs(bucket), capacity: String(Math.round(used / 0.85)) });
    expect(at85.status).toBe(0);
    expect(at85.outputs.status).toBe('warning');
    expect(at85.outputs['used-percent']).toBe('85');
    expect(decodeCommand(at85.warnings)).toMatch(/^storage is 85\.0 % full .* over the warning level of 80 %/);
    expect(at85.summary).toMatch(
      /\| ⚠️ warning \| Storage used \| 85\.0 % \(.* of .*\) \| warning 80 %, critical 90 % \|/,
    );

    const at95 = await runAction('monitor', { ...monitorInputs(bucket), capacity: String(Math.round(used / 0.95)) });
    expect(at95.status).toBe(1);
    expect(at95.outputs.status).toBe('critical');
    expect(decodeCommand(at95.errors)).toMatch(/storage is 95\.0 % full .* over the critical level of 90 %/);

    const strict = await runAction('monitor', {
      ...monitorInputs(bucket),
      capacity: String(Math.round(used / 0.85)),
      'fail-on': 'warning',
    });
    expect(strict.status).toBe(1);
  });

  it('a sudden size drop is a warning, and the summary charts sizes and rows', async () => {
    const history = Array.from({ length: 8 }, (_, i) => synthetic(2 + i * 24, 10_000, 5000 + i));
    const bucket = await bucketWith([synthetic(1, 3000, 5000), ...history]);
    const r = await runAction('monitor', monitorInputs(bucket));
    expect(r.status).toBe(0);
    expect(r.outputs.status).toBe('warning');
    expect(r.outputs.findings).toMatch(
      /^warning: the newest backup of main holds 2\.9 KiB, 30 % of the median 9\.8 KiB of the previous 7: a dropped table or a truncated dump\?/m,
    );
    expect(r.summary).toMatch(/```mermaid\n%%\{init: .*\}%%\nxychart-beta\n/);
    expect(r.summary).toContain('title "Stored size of main, last 9 backups"');
    expect(r.summary).toContain('y-axis "thousands of rows" 0 -->');
    expect(r.summary).toMatch(/line \[5\.01, 5\.01, (5(\.0\d)?, ){6}5\]/);
  });

  it('pgdr monitor prints the checks and --json the outputs', async () => {
    const bucket = await bucketWith([synthetic(1), synthetic(25)]);
    const env = { PGDR_ENCRYPTION_PASSPHRASE: TEST_AUTH_PASSPHRASE };
    const text = await runCli(['monitor', '--destination', `s3://${bucket}/db`, '--s3-endpoint', s3Endpoint()], env);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/Backups healthy: main[\s\S]*Newest backup age \(main\)/);
    const json = await runCli(
      ['monitor', '--destination', `s3://${bucket}/db`, '--s3-endpoint', s3Endpoint(), '--json'],
      env,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'ok', findings: '' });
  });
});

describe('monitor: WAL archiving (a real PostgreSQL)', () => {
  let failing: PgServer;
  let bucket: string;
  beforeAll(async () => {
    failing = await startPostgres({
      settings: { archive_mode: 'on', archive_command: "'/bin/false'", wal_level: 'replica' },
    });
    bucket = await bucketWith([synthetic(1), synthetic(25)]);
  });
  afterAll(() => failing?.stop());

  function sql(server: PgServer, text: string): string {
    return execFileSync(
      clientBin('psql'),
      ['-X', '-At', '-h', server.host, '-p', String(server.port), '-U', 'postgres'],
      {
        input: text,
        encoding: 'utf8',
      },
    ).trim();
  }

  it('reports a failing archive_command as critical', async () => {
    sql(failing, 'CREATE TABLE w (x int); INSERT INTO w SELECT generate_series(1, 1000); SELECT pg_switch_wal();');
    for (let i = 0; i < 300 && Number(sql(failing, 'SELECT failed_count FROM pg_stat_archiver')) === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Number(sql(failing, 'SELECT failed_count FROM pg_stat_archiver'))).toBeGreaterThan(0);
    const r = await runAction('monitor', { ...monitorInputs(bucket), 'database-url': failing.url() });
    expect(r.status).toBe(1);
    expect(r.outputs.status).toBe('critical');
    expect(r.errors.join('\n')).toMatch(
      /WAL archiving is failing: archive_command failed for [0-9A-F]{24} .* ago \(\d+ failure\(s\) since .*\); last success: never/,
    );
    expect(r.summary).toMatch(/\| ❌ critical \| WAL archiving \| failing: \d+ failure\(s\)/);
  });

  it('archive_mode off is not applicable, unless archiving is required', async () => {
    const r = await runAction('monitor', { ...monitorInputs(bucket), 'database-url': pgUrl() });
    expect(r.outputs.status).toBe('ok');
    expect(r.summary).toMatch(/\| – n\/a \| WAL archiving \| archive_mode = off \| not required \|/);
    const required = await runAction('monitor', {
      ...monitorInputs(bucket),
      'database-url': pgUrl(),
      'require-wal-archiving': 'true',
    });
    expect(required.status).toBe(1);
    expect(required.errors.join()).toMatch(
      /WAL archiving is required \(require-wal-archiving\) but archive_mode is off/,
    );
  });
});

/** Answers GetBucketVersioning/GetBucketReplication for `settings`, forwards every other request to s3rver. */
async function startBucketSettingsProxy(
  target: string,
  settings: Record<string, { versioning?: string; replicatedTo?: string }>,
): Promise<{ endpoint: string; seen: string[]; stop(): Promise<void> }> {
  const seen: string[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const bucket = url.pathname.split('/')[1] ?? '';
    const xml = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
    };
    if (url.searchParams.has('versioning') && req.method === 'GET') {
      seen.push(`versioning ${bucket}`);
      const s = settings[bucket]?.versioning;
      xml(
        200,
        `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${s ? `<Status>${s}</Status>` : ''}</VersioningConfiguration>`,
      );
      return;
    }
    if (url.searchParams.has('replication') && req.method === 'GET') {
      seen.push(`replication ${bucket}`);
      const to = settings[bucket]?.replicatedTo;
      if (!to) {
        xml(
          404,
          '<Error><Code>ReplicationConfigurationNotFoundError</Code><Message>The replication configuration was not found</Message></Error>',
        );
        return;
      }
      xml(
        200,
        `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>arn:aws:iam::1:role/r</Role><Rule><ID>all</ID><Status>Enabled</Status><Priority>1</Priority><Filter></Filter><Destination><Bucket>arn:aws:s3:::${to}</Bucket></Destination></Rule></ReplicationConfiguration>`,
      );
      return;
    }
    const fwd = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('monitor: bucket versioning and replication (HTTP stand-in in front of s3rver)', () => {
  it('versioned and replicated buckets pass; an unversioned or unreplicated one is critical', async () => {
    const bucket = await bucketWith([synthetic(1), synthetic(25)]);
    const proxy = await startBucketSettingsProxy(s3Endpoint(), {
      attachments: { versioning: 'Enabled', replicatedTo: 'attachments-dr' },
      transcripts: { versioning: 'Suspended' },
    });
    try {
      const good = await runAction('monitor', {
        ...monitorInputs(bucket, proxy.endpoint),
        'audit-buckets': 'attachments',
        'require-replication': 'true',
      });
      expect(good.errors).toEqual([]);
      expect(good.outputs.status).toBe('ok');
      expect(good.summary).toMatch(/\| ✅ ok \| Versioning \(attachments\) \| Enabled \| Enabled \|/);
      expect(good.summary).toMatch(
        /\| ✅ ok \| Replication \(attachments\) \| 1 rule\(s\) → arn:aws:s3:::attachments-dr \|/,
      );

      const bad = await runAction('monitor', {
        ...monitorInputs(bucket, proxy.endpoint),
        'audit-buckets': 'attachments, transcripts',
        'require-replication': 'true',
      });
      expect(bad.status).toBe(1);
      expect(bad.outputs.findings?.split('\n')).toEqual([
        'critical: bucket transcripts does not have versioning enabled (Suspended): a deleted or overwritten object cannot be recovered',
        'critical: bucket transcripts is not replicated (no replication configuration), but require-replication is set',
      ]);
      expect(proxy.seen).toContain('versioning transcripts');
    } finally {
      await proxy.stop();
    }
  });
});
