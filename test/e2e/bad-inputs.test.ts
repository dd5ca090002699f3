/**
 * Bad input gets a one-line error that names the input, before any I/O: the database and S3 endpoints
 * given to each run are listeners that count connections, and must see none.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';

let connections = 0;
const servers: net.Server[] = [];
let dbPort = 0;
let s3Port = 0;

async function countingServer(): Promise<number> {
  const srv = net.createServer((sock) => {
    connections++;
    sock.destroy();
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  dbPort = await countingServer();
  s3Port = await countingServer();
});
afterAll(() => {
  for (const s of servers) s.close();
});

const base = (): Record<string, string> => ({
  'database-url': `postgres://u:p@127.0.0.1:${dbPort}/db`,
  destination: 's3://bucket/prefix',
  's3-endpoint': `http://127.0.0.1:${s3Port}`,
  'encryption-passphrase': 'a good long passphrase',
  name: 'db',
});

const cases: Array<[string, string, Record<string, string>, RegExp]> = [
  ['backup', 'unknown format', { format: 'tar' }, /'format' must be one of plain, custom \(got 'tar'\)/],
  ['backup', 'unknown compression', { compression: 'lzma' }, /'compression' must be one of gzip, zstd, none/],
  [
    'backup',
    'compression level out of range',
    { 'compression-level': '42' },
    /'compression-level' must be a whole number from 1 to 9/,
  ],
  [
    'backup',
    'destination neither s3:// nor a path',
    { destination: 'ftp://host/dir' },
    /'destination' must be s3:\/\/bucket\/prefix or a local directory path/,
  ],
  ['backup', 's3:// URL with no bucket', { destination: 's3://' }, /'destination' names no bucket/],
  [
    'backup',
    'non-postgres URL',
    { 'database-url': 'mysql://root@localhost/db' },
    /'database-url' must start with postgres:\/\/ or postgresql:\/\//,
  ],
  [
    'backup',
    'no key and no explicit encryption: none',
    { 'encryption-passphrase': '' },
    /set 'encryption-passphrase'.*'encryption: none'/,
  ],
  [
    'backup',
    'both a passphrase and a public key',
    { 'encryption-public-key': '-----BEGIN PGP PUBLIC KEY BLOCK-----' },
    /either 'encryption-passphrase' or 'encryption-public-key'/,
  ],
  [
    'backup',
    'encryption: none without a signing-key',
    { 'encryption-passphrase': '', encryption: 'none' },
    /'encryption: none' needs 'signing-key'/,
  ],
  [
    'backup',
    'a signing-key that is not an armored private key',
    { 'signing-key': 'not a key' },
    /'signing-key' must be an ASCII-armored OpenPGP private key/,
  ],
  ['backup', 'invalid set name', { name: 'Prod DB' }, /'name' must match/],
  ['backup', 'lock-wait that is not a duration', { 'lock-wait': 'soon' }, /'lock-wait' must be a duration/],
  ['backup', 'bad s3 endpoint', { 's3-endpoint': 'minio:9000' }, /'s3-endpoint' must/],
  ['prune', 'negative keep-daily', { 'keep-daily': '-1' }, /'keep-daily' must be a whole number/],
  [
    'prune',
    'max policy of zeros',
    { 'keep-last': '0', 'keep-daily': '0', 'keep-weekly': '0', 'keep-monthly': '0', 'keep-yearly': '0' },
    /keep-/,
  ],
  [
    'prune',
    'no key that authenticates the backups',
    { 'encryption-passphrase': '' },
    /set 'encryption-passphrase' .* or 'signing-public-key' .*nothing was deleted/,
  ],
  ['verify', 'max-age that is not a duration', { 'max-age': 'soon' }, /'max-age' must be a duration/],
  [
    'verify',
    'max-restore-time that is not a duration',
    { 'max-restore-time': 'a while' },
    /'max-restore-time' must be a duration/,
  ],
  [
    'verify',
    'a signing-public-key that is not an armored public key',
    { 'signing-public-key': 'not a key' },
    /'signing-public-key' must hold ASCII-armored OpenPGP public keys/,
  ],
  [
    'monitor',
    'no key that authenticates the backups',
    { 'encryption-passphrase': '' },
    /set 'encryption-passphrase' .* or 'signing-public-key'/,
  ],
  ['monitor', 'capacity that is not a size', { capacity: 'lots' }, /'capacity' must be a size/],
  ['monitor', 'max-age that is not a duration', { 'max-age': 'yesterday' }, /'max-age' must be a duration/],
];

describe('bad inputs', () => {
  it.each(cases)('%s: %s → one clear error naming the input, no I/O', async (action, _why, override, message) => {
    const before = connections;
    const run = await runAction(action, { ...base(), ...override });
    expect(run.status).not.toBe(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(message);
    expect(connections - before).toBe(0);
  });
});
