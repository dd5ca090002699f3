// Runs s3rver in its own process (node --openssl-legacy-provider: its continuation tokens use DES).
// Prints the port on stdout once listening; exits when stdin closes (the parent went away).
import fs from 'node:fs';
import S3rver from 's3rver';

const [directory, port = '0'] = process.argv.slice(2);
fs.mkdirSync(directory, { recursive: true });
const server = new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true });
const { port: actual } = await server.run();
process.stdout.write(`${actual}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
