/**
 * The bucket is hostile (issue 14): someone who can write the storage, but holds no key and no database
 * login, plants, edits, re-dates and replays objects. Each attack runs against the bundled actions over one
 * genuine backup set per destination kind (a local directory and the S3 server, real PostgreSQL), each in a
 * copy of that set, and every run must: run no code from storage (the marker files a payload would create
 * stay absent), keep `latest`, restore's and prune's decisions those of the genuine set, and say what it
 * left alone. Passphrase mode (HMAC) throughout; public-key mode (a signing key) for the planted payload.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataKeyFor, manifestKeyFor } from '../../src/core/layout.js';
import { type Manifest, parseManifest, serializeManifest } from '../../src/core/manifest.js';
import { openpgpSigner, passphraseSigner } from '../../src/core/manifest-auth.js';
import { type ActionRun, runAction } from '../harness/action.js';
import { createDatabase, dropDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { startFakeGitHub } from '../harness/github-api.js';
import { makeKeyPair, type TestKeyPair } from '../harness/gpg-keys.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import { allKeys, objectsOf, syntheticBackups, TEST_AUTH_PASSPHRASE } from '../harness/synthetic-backups.js';

/** The genuine backups and the synthetic daily set share one key, as a real backup job's would. */
const PASSPHRASE = TEST_AUTH_PASSPHRASE;
const SET = 'app';
const DAILY = 'daily';
/** A set in public-key mode: encrypted to a public key, its manifests signed by a signing key. */
const SIGNED = 'signed';
const DAY = 86_400_000;

/** A destination the attacker can write to, seen through the actions' inputs and written to directly. */
interface Dest {
  kind: 'local' | 's3';
  /** The layout prefix of keys (a local destination's root is its directory). */
  prefix: string;
  inputs: Record<string, string>;
  put(key: string, body: string | Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  keys(): Promise<string[]>;
}

const tempDirs: string[] = [];
function tempDir(label: string, mode = 0o700): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgdr-hostile-${label}-`));
  fs.chmodSync(dir, mode);
  tempDirs.push(dir);
  return dir;
}

function localDest(): Dest {
  const root = tempDir('local');
  const file = (key: string): string => path.join(root, ...key.split('/'));
  return {
    kind: 'local',
    prefix: '',
    inputs: { destination: root },
    async put(key, body) {
      fs.mkdirSync(path.dirname(file(key)), { recursive: true });
      fs.writeFileSync(file(key), body);
    },
    async get(key) {
      return fs.readFileSync(file(key));
    },
    async keys() {
      return (fs.readdirSync(root, { recursive: true }) as string[])
        .filter((p) => fs.statSync(path.join(root, p)).isFile())
        .map((p) => p.split(path.sep).join('/'))
        .sort();
    },
  };
}

async function s3Dest(): Promise<Dest> {
  const bucket = await createBucket(s3Endpoint(), 'hostile');
  const client = testS3Client(s3Endpoint());
  return {
    kind: 's3',
    prefix: 'backups',
    inputs: { destination: `s3://${bucket}/backups`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' },
    async put(Key, Body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    },
    async get(Key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },
    keys: () => allKeys(client, bucket),
  };
}

/** A fresh destination of the same kind holding a copy of every object of `from`. */
async function cloneOf(from: Dest): Promise<Dest> {
  const to = from.kind === 'local' ? localDest() : await s3Dest();
  for (const key of await from.keys()) await to.put(key, await from.get(key));
  return to;
}

interface Genuine {
  key: string;
  manifestKey: string;
  createdAt: string;
}

const stemOf = (manifestKey: string): string => manifestKey.replace(/\.manifest\.json$/, '');
const later = (iso: string, seconds: number): Date => new Date(Date.parse(iso) + seconds * 1000);

/** Markers the payloads below would create: one by psql's `\!` (the runner), one by COPY … TO PROGRAM (the server). */
let markerDir: string;
const markers = (): string[] => fs.readdirSync(markerDir);

function payloadSql(): string {
  return [
    `\\! touch ${markerDir}/psql-shell-ran; env > ${markerDir}/stolen-env`,
    `COPY (SELECT 1) TO PROGRAM 'touch ${markerDir}/server-program-ran';`,
    'DROP TABLE IF EXISTS public.items;',
    'CREATE TABLE public.items (id int PRIMARY KEY, v text);',
    "INSERT INTO public.items VALUES (1, 'the attacker''s data');",
    '',
  ].join('\n');
}

/** A column list that, spliced into `COPY t (<columns>) TO STDOUT`, runs a program on the server. */
function columnsPayload(marker: string): string {
  return `id) TO PROGRAM 'touch ${markerDir}/${marker}' --`;
}

type SigKind = 'none' | 'forged' | 'keep';

/** A manifest made from `template`, re-keyed to `at` and describing `body`, as a bucket writer can make one. */
function forgedManifest(
  template: Manifest,
  prefix: string,
  at: Date,
  body: Buffer,
  ext: 'sql' | 'sql.gz.gpg',
): Manifest {
  return {
    ...template,
    createdAt: at.toISOString(),
    completedAt: new Date(at.getTime() + 1000).toISOString(),
    object: {
      key: dataKeyFor(prefix, template.name, at, ext),
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    },
  };
}

/** An authenticator made with a passphrase that is not the job's: what a forger without the key can do. */
let forgerSign: (manifest: string) => Promise<string>;

/** Plants a backup (data, maybe a .sig, the manifest) at `at`; returns its keys. */
async function plant(
  d: Dest,
  manifest: Manifest,
  body: Buffer,
  sig: SigKind,
  originalSig?: string,
): Promise<{ dataKey: string; manifestKey: string }> {
  const at = new Date(manifest.createdAt);
  const manifestKey = manifestKeyFor(d.prefix, manifest.name, at);
  const text = serializeManifest(manifest);
  await d.put(manifest.object.key, body);
  if (sig === 'forged') await d.put(`${manifestKey}.sig`, await forgerSign(text));
  if (sig === 'keep') await d.put(`${manifestKey}.sig`, originalSig as string);
  await d.put(manifestKey, text);
  return { dataKey: manifest.object.key, manifestKey };
}

function verifyInputs(d: Dest, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...d.inputs,
    name: SET,
    backup: 'latest',
    'database-url': pgUrl('postgres'),
    'encryption-passphrase': PASSPHRASE,
    ...extra,
  };
}

async function monitor(d: Dest, env: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    'monitor',
    { ...d.inputs, name: SET, 'encryption-passphrase': PASSPHRASE, 'fail-on': 'never' },
    { env },
  );
}

/** All messages a run showed its user (annotations, log, summary). */
const said = (run: ActionRun): string => `${run.visible}\n${run.summary}`;

describe('hostile storage: attacks by a bucket writer against the bundled actions', () => {
  let source: string;
  const genuine: Record<'local' | 's3', { dest: Dest; b1: Genuine; b2: Genuine; signed: Genuine }> = {} as never;
  let encryptionKey: TestKeyPair;
  let signingKey: TestKeyPair;
  let attackerKey: TestKeyPair;
  const targets: string[] = [];

  beforeAll(async () => {
    markerDir = tempDir('markers', 0o777);
    const forger = await passphraseSigner('a guess by someone without the passphrase');
    forgerSign = (text) => forger.sign(Buffer.from(text, 'utf8'));
    // Control: the payloads do create the markers when run, so their absence below means something.
    const scratch = createDatabase('hostile_control');
    psql(scratch, `CREATE TABLE public.items (id int, v text);\n${payloadSql()}`);
    psql(scratch, `COPY public.items (${columnsPayload('columns-ran')}) TO STDOUT;`);
    dropDatabase(scratch);
    expect(markers().sort()).toEqual(['columns-ran', 'psql-shell-ran', 'server-program-ran', 'stolen-env']);
    for (const m of markers()) fs.rmSync(path.join(markerDir, m));
    source = createDatabase('hostile');
    psql(
      source,
      "CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items SELECT g, 'row ' || g FROM generate_series(1, 100) g;",
    );
    const dests = { local: localDest(), s3: await s3Dest() };
    encryptionKey = makeKeyPair('hostile test encryption <enc@example.com>');
    signingKey = makeKeyPair('hostile test signing <sign@example.com>');
    attackerKey = makeKeyPair('attacker <attacker@example.com>');
    const backup = async (
      d: Dest,
      keys: Record<string, string> = { name: SET, 'encryption-passphrase': PASSPHRASE },
    ): Promise<Genuine> => {
      const run = await runAction('backup', { 'database-url': pgUrl(source), ...d.inputs, ...keys });
      expect(run.errors).toEqual([]);
      expect(run.status).toBe(0);
      return {
        key: run.outputs.key as string,
        manifestKey: run.outputs['manifest-key'] as string,
        createdAt: run.outputs['created-at'] as string,
      };
    };
    const b1 = { local: await backup(dests.local), s3: await backup(dests.s3) };
    // B2 holds 200 rows, B1 100: a restore says which one it brought back.
    psql(source, "INSERT INTO public.items SELECT g, 'row ' || g FROM generate_series(101, 200) g;");
    await new Promise((r) => setTimeout(r, 1100)); // keys have second precision
    const b2 = { local: await backup(dests.local), s3: await backup(dests.s3) };
    // A set of daily backups (one at 03:00 UTC for 10 days), authenticated with the same passphrase.
    const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T03:00:00Z`);
    const days = Array.from({ length: 10 }, (_, i) => new Date(today - (i + 1) * DAY));
    for (const kind of ['local', 's3'] as const) {
      const d = dests[kind];
      for (const [k, body] of objectsOf(await syntheticBackups(d.prefix, DAILY, days))) await d.put(k, body);
      const signed = await backup(d, {
        name: SIGNED,
        'encryption-public-key': encryptionKey.publicKey,
        'signing-key': signingKey.privateKey,
      });
      genuine[kind] = { dest: d, b1: b1[kind], b2: b2[kind], signed };
    }
  });

  afterAll(() => {
    for (const t of targets) dropDatabase(t);
    if (source) dropDatabase(source);
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A database restore can replace: one row that neither backup holds. */
  function restoreTarget(): string {
    const t = createDatabase('hostile_target');
    targets.push(t);
    psql(t, "CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items VALUES (-1, 'live');");
    return t;
  }

  describe.each(['local', 's3'] as const)('on %s storage', (kind) => {
    const g = () => genuine[kind];
    const manifestOf = async (d: Dest, key: string): Promise<Manifest> => parseManifest(await d.get(key));

    it('(1) a planted unencrypted "backup" with a shell payload, newer than the genuine one, with and without a forged .sig: never chosen, nothing runs', async () => {
      const { b2 } = g();
      const d = await cloneOf(g().dest);
      const template = await manifestOf(d, b2.manifestKey);
      const body = Buffer.from(payloadSql());
      const plain = (at: Date): Manifest => ({
        ...forgedManifest(template, d.prefix, at, body, 'sql'),
        dump: { ...template.dump, format: 'plain', compression: 'none', compressionLevel: null },
        encryption: { scheme: 'none', cipher: null, keyFingerprint: null },
        tables: [{ schema: 'public', name: 'items', rows: 1, checksum: '', columns: 'id, v' }],
        totals: { tables: 1, rows: 1 },
        checksumAlgorithm: 'none',
      });
      const unsigned = await plant(d, plain(later(b2.createdAt, 60)), body, 'none');
      const forged = await plant(d, plain(later(b2.createdAt, 120)), body, 'forged');

      const verify = await runAction('verify', verifyInputs(d));
      expect(verify.errors).toEqual([]);
      expect(verify.outputs.result).toBe('passed');
      expect(verify.outputs['backup-key']).toBe(b2.key);
      const skipped = verify.warnings.join('\n');
      expect(skipped).toContain(`${unsigned.manifestKey} (not authenticated: it has no authenticator`);
      expect(skipped).toContain(`${forged.manifestKey} (not authenticated: its authenticator does not match`);
      expect(markers()).toEqual([]);

      // Named explicitly, the planted one is refused, saying why.
      for (const p of [unsigned, forged]) {
        const named = await runAction('verify', verifyInputs(d, { backup: p.dataKey }));
        expect(named.status).toBe(1);
        expect(named.errors.join('\n')).toMatch(new RegExp(`not authenticated: ${p.manifestKey} .*it is not restored`));
      }
      expect(markers()).toEqual([]);

      const target = restoreTarget();
      const restore = await runAction('restore', {
        ...d.inputs,
        name: SET,
        'database-url': pgUrl(target),
        confirm: target,
        'encryption-passphrase': PASSPHRASE,
      });
      expect(restore.errors).toEqual([]);
      expect(restore.outputs['restored-key']).toBe(b2.key);
      expect(psql(target, 'SELECT count(*) FROM public.items')).toBe('200');
      expect(said(restore)).toContain(`skipped a newer object that is not a usable backup: ${forged.manifestKey}`);
      expect(markers()).toEqual([]);

      const mon = await monitor(d);
      expect(mon.outputs['newest-backup-key']).toBe(b2.key);
      expect(mon.outputs.findings).toMatch(/warning: app: 2 manifest\(s\) do not authenticate and are ignored/);
      // Nothing was deleted: the planted objects are left for a human to look at.
      expect(await d.keys()).toEqual(expect.arrayContaining([unsigned.manifestKey, forged.manifestKey]));

      // notify's last-good lookup names the genuine backup, not the planted one.
      const gh = await startFakeGitHub();
      try {
        const notify = await runAction(
          'notify',
          { status: 'failure', 'github-token': gh.token, name: SET, ...d.inputs, 'encryption-passphrase': PASSPHRASE },
          {
            env: { GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '1', GITHUB_RUN_ATTEMPT: '1' },
          },
        );
        expect(notify.outputs.action).toBe('opened');
        expect(gh.issues[0]?.body).toMatch(new RegExp(`\\| Last good backup \\| \`[^\`]*${b2.key}\``));
        expect(gh.issues[0]?.body).not.toContain(forged.dataKey);
      } finally {
        await gh.stop();
      }
    });

    it('(2) a genuine manifest with only tables[].columns edited (COPY … TO PROGRAM): not authenticated, never used', async () => {
      const { b1, b2 } = g();
      const d = await cloneOf(g().dest);
      const m = await manifestOf(d, b2.manifestKey);
      expect(m.tables.find((t) => t.name === 'items')?.columns).toBe('id, v');
      const edited: Manifest = {
        ...m,
        tables: m.tables.map((t) => (t.name === 'items' ? { ...t, columns: columnsPayload('columns-ran') } : t)),
      };
      await d.put(b2.manifestKey, serializeManifest(edited)); // its genuine .sig stays beside it

      const verify = await runAction('verify', verifyInputs(d));
      expect(verify.errors).toEqual([]);
      expect(verify.outputs.result).toBe('passed');
      expect(verify.outputs['backup-key']).toBe(b1.key);
      expect(verify.warnings.join('\n')).toContain(
        `${b2.manifestKey} (not authenticated: its authenticator does not match (edited, or made with another passphrase))`,
      );
      const named = await runAction('verify', verifyInputs(d, { backup: b2.key }));
      expect(named.status).toBe(1);
      expect(named.errors.join('\n')).toContain(
        `not authenticated: ${b2.manifestKey} its authenticator does not match`,
      );
      expect(markers()).toEqual([]);
    });

    it("(3) an older genuine backup copied under a newer stamp, re-dated or verbatim, with its .sig: latest and restore's data-loss window unchanged", async () => {
      const { b1, b2 } = g();
      const d = await cloneOf(g().dest);
      const old = await manifestOf(d, b1.manifestKey);
      const oldText = (await d.get(b1.manifestKey)).toString('utf8');
      const oldSig = (await d.get(`${b1.manifestKey}.sig`)).toString('utf8');
      const oldBody = await d.get(b1.key);
      // Re-dated: createdAt and object.key rewritten, the original .sig kept.
      const redated = await plant(
        d,
        forgedManifest(old, d.prefix, later(b2.createdAt, 60), oldBody, 'sql.gz.gpg'),
        oldBody,
        'keep',
        oldSig,
      );
      // Verbatim: the genuine manifest and .sig, byte for byte, under a newer key.
      const at = later(b2.createdAt, 120);
      const replayKey = manifestKeyFor(d.prefix, SET, at);
      await d.put(dataKeyFor(d.prefix, SET, at, 'sql.gz.gpg'), oldBody);
      await d.put(`${replayKey}.sig`, oldSig);
      await d.put(replayKey, oldText);

      const verify = await runAction('verify', verifyInputs(d));
      expect(verify.outputs.result).toBe('passed');
      expect(verify.outputs['backup-key']).toBe(b2.key);
      const skipped = verify.warnings.join('\n');
      expect(skipped).toContain(`${redated.manifestKey} (not authenticated: its authenticator does not match`);
      expect(skipped).toMatch(new RegExp(`${replayKey} \\(not authenticated: it describes ${b1.key}, not a backup at`));

      const target = restoreTarget();
      const startedAt = Date.now();
      const restore = await runAction('restore', {
        ...d.inputs,
        name: SET,
        'database-url': pgUrl(target),
        confirm: target,
        'encryption-passphrase': PASSPHRASE,
      });
      expect(restore.errors).toEqual([]);
      expect(restore.outputs['restored-key']).toBe(b2.key);
      expect(psql(target, 'SELECT count(*) FROM public.items')).toBe('200');
      // The window is counted from B2's snapshot, not from the stamp the copies claim.
      expect(Number(restore.outputs['data-loss-window-seconds'])).toBeGreaterThanOrEqual(
        Math.floor((startedAt - Date.parse(b2.createdAt)) / 1000),
      );
      expect((await monitor(d)).outputs['newest-backup-key']).toBe(b2.key);
      expect(markers()).toEqual([]);
    });

    it('(4) a 5-byte object with another extension planted beside the newest backup: it stays the latest', async () => {
      const { b2 } = g();
      const d = await cloneOf(g().dest);
      const stem = stemOf(b2.manifestKey);
      await d.put(`${stem}.dump`, 'hello');
      await d.put(`${stem}.sql.gz`, 'hello');
      const verify = await runAction('verify', verifyInputs(d));
      expect(verify.errors).toEqual([]);
      expect(verify.outputs.result).toBe('passed');
      expect(verify.outputs['backup-key']).toBe(b2.key);
      const mon = await monitor(d);
      expect(mon.outputs['newest-backup-key']).toBe(b2.key);
      expect(mon.outputs.status).toBe('ok');
    });

    it('(5) fakes planted newer than each day’s genuine backup: prune keeps and deletes exactly what it would without them, and deletes no fake', async () => {
      const policy = {
        name: DAILY,
        'keep-last': '2',
        'keep-daily': '4',
        'keep-weekly': '0',
        'keep-monthly': '0',
        'encryption-passphrase': PASSPHRASE,
      };
      // What the policy decides over the genuine set alone.
      const clean = await cloneOf(g().dest);
      const baseline = await runAction('prune', { ...clean.inputs, ...policy });
      expect(baseline.errors).toEqual([]);
      const baselineDeleted = (JSON.parse(baseline.outputs['deleted-keys'] as string) as string[]).sort();
      expect(baseline.outputs).toMatchObject({ kept: '4', deleted: '6' });
      const inDaily = (k: string): boolean => k.startsWith(`${clean.prefix ? `${clean.prefix}/` : ''}${DAILY}/`);
      const survivors = (await clean.keys()).filter(inDaily);

      const d = await cloneOf(g().dest);
      const manifests = (await d.keys()).filter((k) => inDaily(k) && k.endsWith('.manifest.json'));
      expect(manifests).toHaveLength(10);
      const fakes: string[] = [];
      for (const [i, mk] of manifests.entries()) {
        const m = await manifestOf(d, mk);
        const text = (await d.get(mk)).toString('utf8');
        const sig = (await d.get(`${mk}.sig`)).toString('utf8');
        const body = await d.get(m.object.key);
        const at = later(m.createdAt, 2 * 3600); // 05:00, the same day
        const variant = i % 4;
        if (variant === 3) {
          // Verbatim replay of that day's genuine manifest and .sig under the newer key.
          const key = manifestKeyFor(d.prefix, DAILY, at);
          const dataKey = dataKeyFor(d.prefix, DAILY, at, 'sql.gz.gpg');
          await d.put(dataKey, body);
          await d.put(`${key}.sig`, sig);
          await d.put(key, text);
          fakes.push(dataKey, `${key}.sig`, key);
        } else {
          const sigKind: SigKind = variant === 0 ? 'none' : variant === 1 ? 'forged' : 'keep';
          const p = await plant(d, forgedManifest(m, d.prefix, at, body, 'sql.gz.gpg'), body, sigKind, sig);
          fakes.push(p.dataKey, p.manifestKey, ...(sigKind === 'none' ? [] : [`${p.manifestKey}.sig`]));
        }
      }
      const run = await runAction('prune', { ...d.inputs, ...policy });
      expect(run.errors).toEqual([]);
      expect(run.status).toBe(0);
      expect(run.outputs).toMatchObject({ kept: '4', deleted: '6', 'incomplete-deleted': '0' });
      expect((JSON.parse(run.outputs['deleted-keys'] as string) as string[]).sort()).toEqual(baselineDeleted);
      const after = await d.keys();
      expect(after).toEqual(expect.arrayContaining([...survivors, ...fakes]));
      expect(run.warnings.join('\n')).toMatch(/left alone: 10 manifest\(s\) that do not authenticate/);
      expect(run.summary).toContain('Manifests that do not authenticate (left alone, in no retention slot)');
    });

    it('(6) a manifest asking for 2^31-1 PBKDF2 rounds and 24 MB manifests: the runs end, the newest backup stands, memory stays bounded', async () => {
      const { b2 } = g();
      const d = await cloneOf(g().dest);
      const template = await manifestOf(d, b2.manifestKey);
      const body = randomBytes(64);
      const costly = (at: Date): Manifest => ({
        ...forgedManifest(template, d.prefix, at, body, 'sql.gz.gpg'),
        encryption: {
          scheme: 'openpgp-passphrase',
          cipher: 'AES256',
          keyFingerprint: `pbkdf2-sha256:2147483647:${randomBytes(16).toString('base64')}:${'0'.repeat(32)}`,
        },
      });
      const slowForged = await plant(d, costly(later(b2.createdAt, 60)), body, 'forged');
      const slowUnsigned = await plant(d, costly(later(b2.createdAt, 90)), body, 'none');
      const huge: string[] = [];
      for (const s of [120, 150]) {
        const at = later(b2.createdAt, s);
        const key = manifestKeyFor(d.prefix, SET, at);
        const big = { ...template, padding: 'x'.repeat(24 * 1024 * 1024) };
        await d.put(dataKeyFor(d.prefix, SET, at, 'sql.gz.gpg'), body);
        await d.put(`${key}.sig`, await forgerSign('x'));
        await d.put(key, JSON.stringify(big));
        huge.push(key);
      }

      const verify = await runAction('verify', verifyInputs(d));
      expect(verify.status).toBe(0);
      expect(verify.outputs['backup-key']).toBe(b2.key);
      const skipped = verify.warnings.join('\n');
      for (const h of huge)
        expect(skipped).toContain(`${h} (not authenticated: the manifest is larger than 16777216 bytes)`);
      expect(skipped).toContain(`${slowForged.manifestKey} (not authenticated: its authenticator does not match`);
      const named = await runAction('verify', verifyInputs(d, { backup: slowUnsigned.dataKey }));
      expect(named.status).toBe(1);
      expect(named.errors.join('\n')).toContain(
        `not authenticated: ${slowUnsigned.manifestKey} it has no authenticator`,
      );

      // monitor reads every manifest of the set: its peak RSS, written by a preload as the process exits.
      const probe = path.join(tempDir('rss'), 'rss.mjs');
      const rssFile = `${probe}.out`;
      fs.writeFileSync(
        probe,
        `import fs from 'node:fs';\nprocess.on('exit', () => fs.writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`,
      );
      const mon = await monitor(d, { NODE_OPTIONS: `--import=${probe}` });
      expect(mon.status).toBe(0);
      expect(mon.outputs['newest-backup-key']).toBe(b2.key);
      expect(mon.outputs.findings).toMatch(/warning: app: 4 manifest\(s\) do not authenticate and are ignored/);
      const maxRssKiB = Number(fs.readFileSync(rssFile, 'utf8'));
      expect(maxRssKiB).toBeGreaterThan(0);
      // Two 24 MB manifests read whole (and parsed) would take well over this; capped reads stop at 16 MiB.
      expect(maxRssKiB).toBeLessThan(256 * 1024);
      expect(markers()).toEqual([]);
    });

    it("(7) public-key mode: a payload signed by the attacker's own OpenPGP key, or with an HMAC line, is not authenticated by the signing public key", async () => {
      const { signed } = g();
      const d = await cloneOf(g().dest);
      const template = await manifestOf(d, signed.manifestKey);
      const body = Buffer.from(payloadSql());
      const plain = (at: Date): Manifest => ({
        ...forgedManifest(template, d.prefix, at, body, 'sql'),
        dump: { ...template.dump, format: 'plain', compression: 'none', compressionLevel: null },
        encryption: { scheme: 'none', cipher: null, keyFingerprint: null },
      });
      const attacker = await openpgpSigner(attackerKey.privateKey, undefined);
      let bySelf: { dataKey: string; manifestKey: string };
      try {
        const m = plain(later(signed.createdAt, 60));
        bySelf = await plant(d, m, body, 'keep', await attacker.sign(Buffer.from(serializeManifest(m))));
      } finally {
        await attacker.close();
      }
      const byHmac = await plant(d, plain(later(signed.createdAt, 120)), body, 'forged');
      const readerKeys = { name: SIGNED, 'signing-public-key': signingKey.publicKey };

      const verify = await runAction('verify', {
        ...d.inputs,
        ...readerKeys,
        backup: 'latest',
        'database-url': pgUrl('postgres'),
        'encryption-private-key': encryptionKey.privateKey,
      });
      expect(verify.errors).toEqual([]);
      expect(verify.outputs.result).toBe('passed');
      expect(verify.outputs['backup-key']).toBe(signed.key);
      const skipped = verify.warnings.join('\n');
      // Made by a key the job was not given: gpg cannot verify it at all.
      expect(skipped).toContain(`${bySelf.manifestKey} (not authenticated: its OpenPGP signature does not verify)`);
      expect(skipped).toContain(
        `${byHmac.manifestKey} (not authenticated: it is authenticated by a passphrase, and none is given)`,
      );
      // monitor holds nothing secret here: the signing public key alone.
      const mon = await runAction('monitor', { ...d.inputs, ...readerKeys, 'fail-on': 'never' });
      expect(mon.outputs['newest-backup-key']).toBe(signed.key);
      expect(mon.outputs.findings).toMatch(/warning: signed: 2 manifest\(s\) do not authenticate and are ignored/);
      expect(markers()).toEqual([]);
    });
  });
});
