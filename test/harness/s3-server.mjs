// Runs s3rver in its own process (node --openssl-legacy-provider: its continuation tokens use DES).
// Prints the port on stdout once listening; exits when stdin closes (the parent went away).
//
// s3rver 3.7 does not implement AbortMultipartUpload nor ListMultipartUploads; both are added here over
// its own on-disk layout (<root>/<bucket>/._S3rver_uploads/<uploadId>/{key,1,2,…}), so tests can check
// that failed uploads are aborted and leave no parts behind.
import fs from 'node:fs';
import path from 'node:path';
import S3rver from 's3rver';

const [directory, port = '0'] = process.argv.slice(2);
fs.mkdirSync(directory, { recursive: true });
const server = new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true });

// s3rver deletes the keys of one DeleteObjects concurrently, each removing its directories once empty:
// two deletes in one directory race (readdir/rmdir of a directory the other just removed → 500). One
// delete at a time, and a directory already gone counts as cleaned up.
const deleteObject = server.store.deleteObject.bind(server.store);
let deletes = Promise.resolve();
server.store.deleteObject = (bucket, key) => {
  const run = deletes.then(() =>
    deleteObject(bucket, key).catch((err) => {
      if (err?.code !== 'ENOENT') throw err;
    }),
  );
  deletes = run.catch(() => {});
  return run;
};

const xmlEscape = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

server.middleware.unshift(async (ctx, next) => {
  const [, bucket, ...rest] = ctx.path.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const uploadsDir = bucket ? path.join(directory, bucket, '._S3rver_uploads') : '';
  if (ctx.method === 'DELETE' && ctx.query.uploadId !== undefined && key) {
    const dir = path.join(uploadsDir, String(ctx.query.uploadId));
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && ctx.query.uploads !== undefined && !key) {
    const prefix = String(ctx.query.prefix ?? '');
    const uploads = fs.existsSync(uploadsDir) ? fs.readdirSync(uploadsDir) : [];
    const items = uploads
      .map((id) => ({
        id,
        key: fs.readFileSync(path.join(uploadsDir, id, 'key'), 'utf8'),
        at: fs.statSync(path.join(uploadsDir, id)).mtime,
      }))
      .filter((u) => u.key.startsWith(prefix))
      .map(
        (u) =>
          `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.at.toISOString()}</Initiated></Upload>`,
      )
      .join('');
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`;
    return;
  }
  await next();
});

const { port: actual } = await server.run();
process.stdout.write(`${actual}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
