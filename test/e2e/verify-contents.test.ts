/**
 * More than tables: backup records a database's extensions, sequences, large objects and object counts
 * in the manifest's `contents`, and the bundled verify compares them with the restored copy, naming what
 * differs; a scratch server that cannot hold the backup (a missing extension, an older major) gives
 * `unverifiable`, before anything is restored. Manifests edited here are re-authenticated with the
 * backup's passphrase, so only the edit is under test.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, parseManifest } from '../../src/core/manifest.js';
import { type ManifestSigner, passphraseSigner } from '../../src/core/manifest-auth.js';
import { LARGE_OBJECT_ALGORITHM } from '../../src/core/postgres/contents.js';
import { runAction } from '../harness/action.js';
import { createDatabase, databasesLike, pgUrl, psql } from '../harness/context.js';

const PASSPHRASE = `contents pass ${Date.now()}`;

/** An application schema with more than tables: citext, sequences, a view, a materialized view, functions, a trigger, large objects. */
const APP_SQL = `
CREATE EXTENSION citext;
CREATE SCHEMA app;
CREATE TABLE app.users (id bigserial PRIMARY KEY, email citext UNIQUE NOT NULL, updated_at timestamptz,
  CHECK (email LIKE '%@%'));
INSERT INTO app.users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 50) g;
CREATE SEQUENCE app."Odd ""Seq""" START 100 INCREMENT 7;
SELECT nextval('app."Odd ""Seq"""') FROM generate_series(1, 5);
CREATE SEQUENCE app.untouched;
CREATE VIEW app.user_emails AS SELECT id, email FROM app.users;
CREATE MATERIALIZED VIEW app.user_count AS SELECT count(*) AS n FROM app.users;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.updated_at := now(); RETURN NEW; END$$;
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
SELECT lo_from_bytea(0, convert_to(repeat('a large object spanning several chunks ', 20000), 'UTF8'));
SELECT lo_from_bytea(0, '\\x00ff'::bytea);
SELECT lo_from_bytea(0, ''::bytea);
`;

/** The documented large-object checksum, computed here from the server's own sha256(). */
function largeObjectChecksum(db: string): { count: number; checksum: string } {
  const lines = psql(
    db,
    "SELECT oid || ' ' || encode(sha256(lo_get(oid)), 'hex') FROM pg_largeobject_metadata ORDER BY oid",
  );
  const list = lines ? lines.split('\n') : [];
  const h = createHash('sha256');
  for (const l of list) h.update(`${l}\n`);
  return { count: list.length, checksum: h.digest('hex') };
}

function scratchOf(set: string): string[] {
  return databasesLike(`pgdr_verify_${set.replace(/-/g, '_')}_`);
}

describe('verify compares sequences, large objects, extensions and object counts (bundled actions)', () => {
  let source: string;
  let dir: string;
  let b: { key: string; manifestKey: string };
  let signer: ManifestSigner;

  beforeAll(async () => {
    source = createDatabase('vcontents');
    psql(source, APP_SQL);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vcontents-'));
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vcont',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.errors).toEqual([]);
    b = { key: run.outputs.key as string, manifestKey: run.outputs['manifest-key'] as string };
    signer = await passphraseSigner(PASSPHRASE);
  });

  /** A copy of the backup whose manifest `edit` changed, re-authenticated with the backup's passphrase. */
  async function edited(edit: (m: Manifest) => void): Promise<string> {
    const to = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vcontents-case-'));
    fs.cpSync(dir, to, { recursive: true });
    const file = path.join(to, b.manifestKey);
    const m = parseManifest(fs.readFileSync(file));
    edit(m);
    const text = `${JSON.stringify(m, null, 2)}\n`;
    fs.writeFileSync(`${file}.sig`, await signer.sign(Buffer.from(text)));
    fs.writeFileSync(file, text);
    return to;
  }

  function verify(destination: string, inputs: Record<string, string> = {}) {
    return runAction('verify', {
      destination,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
      ...inputs,
    });
  }

  it('records them in the manifest: citext, every sequence, the large objects by the documented checksum, the counts', () => {
    const m = parseManifest(fs.readFileSync(path.join(dir, b.manifestKey)));
    const c = m.contents;
    expect(c).toBeDefined();
    if (!c) return;
    expect(c.roles).toBeUndefined(); // filled by the roles module, not here
    expect(c.extensions.map((e) => e.name)).toEqual(['citext']);
    expect(c.extensions[0]?.version).toBe(psql(source, "SELECT extversion FROM pg_extension WHERE extname = 'citext'"));
    expect(c.extensions[0]?.schema).toBe('public');
    expect(c.sequences).toEqual([
      { schema: 'app', name: 'Odd "Seq"', lastValue: '128', isCalled: true },
      { schema: 'app', name: 'untouched', lastValue: '1', isCalled: false },
      { schema: 'app', name: 'users_id_seq', lastValue: '50', isCalled: true },
    ]);
    expect(c.largeObjects).toEqual({ ...largeObjectChecksum(source), algorithm: LARGE_OBJECT_ALGORITHM });
    expect(c.largeObjects.count).toBe(3);
    // citext's own functions and operators are extension members: not counted.
    expect(c.objectCounts).toEqual({
      views: 1,
      materializedViews: 1,
      functions: 2,
      indexes: 2,
      constraints: 3,
      triggers: 1,
    });
  });

  it.each(['plain', 'custom'])('passes for a %s backup and shows the contents in the summary', async (format) => {
    let destination = dir;
    if (format === 'custom') {
      destination = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vcontents-custom-'));
      const run = await runAction('backup', {
        'database-url': pgUrl(source),
        destination,
        name: 'vcont',
        format: 'custom',
        'encryption-passphrase': PASSPHRASE,
      });
      expect(run.errors).toEqual([]);
    }
    const run = await verify(destination);
    expect(run.errors).toEqual([]);
    expect(run.outputs.result).toBe('passed');
    const s = run.summary.replace(/\\/g, ''); // Markdown escapes off
    expect(s).toMatch(/### Contents/);
    expect(s).toMatch(/\| extensions \| 1 \| 1 \| ✅ \|/);
    expect(s).toMatch(/\| sequences \| 3 \| 3 \| ✅ \|/);
    expect(s).toMatch(/\| large objects \| 3 \([0-9a-f]{12}\) \| 3 \([0-9a-f]{12}\) \| ✅ \|/);
    expect(s).toMatch(/\| materializedViews \| 1 \| 1 \| ✅ \|/);
    expect(s).toMatch(/\| functions \| 2 \| 2 \| ✅ \|/);
    expect(s).toMatch(/\| triggers \| 1 \| 1 \| ✅ \|/);
    expect(s).toMatch(/Contents \(manifest\) \| 1 extensions \(citext [\d.]+\), 3 sequences, 3 large objects, 1 views/);
    expect(s).not.toMatch(/predates contents checks/);
    expect(scratchOf('vcont')).toEqual([]);
  });

  const differences: Array<{ title: string; edit: (m: Manifest) => void; message: RegExp }> = [
    {
      title: 'a sequence value the restored copy is behind',
      edit: (m) => {
        const s = m.contents?.sequences.find((x) => x.name === 'users_id_seq');
        if (s) s.lastValue = '60';
      },
      message: /contents: sequences \(app\.users_id_seq at 50, expected 60\)/,
    },
    {
      title: 'a large-object checksum',
      edit: (m) => {
        if (m.contents) m.contents.largeObjects.checksum = '0'.repeat(64);
      },
      message: /contents: large objects \(same count, different contents \(checksum\)\)/,
    },
    {
      title: 'a large-object count and a view count',
      edit: (m) => {
        if (m.contents) {
          m.contents.largeObjects.count = 4;
          m.contents.objectCounts.views = 2;
        }
      },
      message: /large objects \(3, expected 4\), .*views \(1, expected 2\)/,
    },
    {
      title: 'a sequence the manifest does not list',
      edit: (m) => {
        if (m.contents) m.contents.sequences = m.contents.sequences.filter((x) => x.name !== 'untouched');
      },
      message: /sequences \(app\.untouched not in the manifest\)/,
    },
  ];

  it.each(differences)('fails on $title, naming what differs', async (c) => {
    const run = await verify(await edited(c.edit));
    expect(run.status).not.toBe(0);
    expect(run.outputs.result).toBe('failed');
    expect(run.outputs['failure-kind']).toBe('contents-mismatch');
    expect(run.outputs.mismatches).toBe('0'); // the tables themselves match
    expect(run.errors.join('\n')).toMatch(c.message);
    expect(run.summary).toMatch(/❌/);
    expect(scratchOf('vcont')).toEqual([]);
  });

  it('is unverifiable, restoring nothing, when the scratch server lacks an extension the backup needs', async () => {
    const run = await verify(
      await edited((m) => {
        m.contents?.extensions.push({ name: 'postgis', version: '3.4.2', schema: 'public' });
      }),
    );
    expect(run.status).not.toBe(0);
    expect(run.outputs.result).toBe('unverifiable');
    expect(run.outputs['failure-kind']).toBe('unverifiable');
    const errors = run.errors.join('\n');
    expect(errors).toMatch(/the scratch server lacks extension\(s\) the backup needs: postgis 3\.4\.2/);
    expect(errors).not.toMatch(/citext/);
    expect(errors).toMatch(/The backup was not found bad/);
    expect(run.summary).toMatch(/Restore test unverifiable/);
    expect(run.visible).not.toMatch(/scratch database: pgdr_verify_/);
    expect(run.outputs.tables).toBe('0');
    expect(scratchOf('vcont')).toEqual([]);
  });

  it("is unverifiable, naming 'postgres-image', when the scratch server is older than the dump's server", async () => {
    const run = await verify(
      await edited((m) => {
        m.dump.serverVersion = '99.1';
        m.dump.serverVersionNum = 990001;
      }),
    );
    expect(run.outputs.result).toBe('unverifiable');
    expect(run.outputs['failure-kind']).toBe('unverifiable');
    const major = psql('postgres', "SELECT current_setting('server_version_num')::int / 10000");
    expect(run.errors.join('\n')).toMatch(
      new RegExp(
        `the scratch server is PostgreSQL ${major}, older than the backup's server \\(99\\.1\\).*'postgres-image' \\(e\\.g\\. postgres:99\\)`,
      ),
    );
    expect(run.visible).not.toMatch(/scratch database: pgdr_verify_/);
    expect(scratchOf('vcont')).toEqual([]);
  });

  it('passes a backup from before contents checks, saying so', async () => {
    const run = await verify(
      await edited((m) => {
        delete m.contents;
      }),
    );
    expect(run.errors).toEqual([]);
    expect(run.outputs.result).toBe('passed');
    expect(run.summary).toMatch(/This backup predates contents checks/);
    expect(run.summary).not.toMatch(/### Contents/);
  });
});
