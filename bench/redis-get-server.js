/**
 * Baseline (d), for the redis-hit scenario: a bare Node `http` server that answers each request
 * with one `GET` of a cached entry's key from Redis, through the client library the BFF uses
 * (node-redis' @redis/client, one connection), round-robin over the keys listed in REDIS_KEYS_FILE (one per
 * line). The value is answered as Redis holds it: no parsing, no auth, no logging. The floor of
 * "an answer read from Redis". Env: RAW_PORT, REDIS_URL, REDIS_KEYS_FILE.
 */
const { createServer } = require('node:http');
const { readFileSync } = require('node:fs');
const { createClient } = require('@redis/client');

const keys = readFileSync(process.env.REDIS_KEYS_FILE, 'utf8').split('\n').filter(Boolean);
const client = createClient({ url: process.env.REDIS_URL });
let next = 0;

const server = createServer((_request, response) => {
  client.get(keys[next++ % keys.length]).then(
    (value) => {
      if (value === null) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(value)),
      });
      response.end(value);
    },
    () => response.writeHead(502).end(),
  );
});
server.keepAliveTimeout = 72_000;
client.connect().then(() => server.listen(Number(process.env.RAW_PORT), '127.0.0.1'));
const stop = () =>
  server.close(() => client.close().then(() => process.exit(0))).closeAllConnections();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
