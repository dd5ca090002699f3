#!/usr/bin/env node
// A stand-in for the two aws CLI commands the runbook uses, against the test S3 server
// (AWS_ENDPOINT_URL): `aws s3 ls s3://bucket/prefix/ --recursive` and `aws s3 cp s3://bucket/key FILE`.
// Output format as the real CLI's: `2026-11-25 19:24:44       1234 key`.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

function parseUrl(url) {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new Error(`not an s3:// URL: ${url}`);
  return { bucket: m[1], key: m[2] };
}

const [service, command, ...rest] = process.argv.slice(2);
if (service !== 's3') throw new Error(`only 'aws s3' is supported (got ${service})`);
const args = rest.filter((a) => !a.startsWith('--'));
if (command === 'ls') {
  if (!rest.includes('--recursive')) throw new Error('only ls --recursive is supported');
  const { bucket, key: prefix } = parseUrl(args[0]);
  let token;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const t = o.LastModified.toISOString();
      console.log(`${t.slice(0, 10)} ${t.slice(11, 19)} ${String(o.Size).padStart(10)} ${o.Key}`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
} else if (command === 'cp') {
  const { bucket, key } = parseUrl(args[0]);
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(r.Body instanceof Readable ? r.Body : Readable.fromWeb(r.Body), fs.createWriteStream(args[1]));
  console.log(`download: s3://${bucket}/${key} to ${args[1]}`);
} else {
  throw new Error(`only 'aws s3 ls' and 'aws s3 cp' are supported (got ${command})`);
}
