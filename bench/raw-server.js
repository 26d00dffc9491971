/**
 * Baseline (a): a bare Node `http` server answering fixed bytes (the BFF's cached list answer)
 * to every request. No routing, no auth, no logging: the ceiling of Node's HTTP stack.
 * Env: RAW_PORT, RAW_BODY_FILE.
 */
const { createServer } = require('node:http');
const { readFileSync } = require('node:fs');

const body = readFileSync(process.env.RAW_BODY_FILE);
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(body.length),
};
const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.RAW_PORT), '127.0.0.1');
const stop = () => server.close(() => process.exit(0)).closeAllConnections();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
