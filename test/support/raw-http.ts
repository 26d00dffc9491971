// Requests sent byte for byte as written: node:http keeps the path as given (fetch would
// normalise `..` and percent-encodings), a raw socket sends what node:http refuses to.
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { CALLERS } from './stack';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

export const ADMIN = `Bearer ${CALLERS.admin.token}`;

/**
 * One request with the admin token unless `headers.authorization` says otherwise. A body gets its
 * Content-Length (node:http would send a DELETE's body unframed, as the start of a next request).
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method,
        path,
        headers: { authorization: ADMIN, ...length, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: jsonOf(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A reply read off a raw socket (status line, headers, a body sent whole) as a RawAnswer. */
export function parseReply(reply: string): RawAnswer {
  const end = reply.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = reply.slice(0, end).split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const text = reply.slice(end + 4);
  return { status: Number(statusLine.split(' ')[1]), headers, text, json: jsonOf(text) };
}

/** Writes bytes on a raw socket (for what node:http and fetch refuse to send) and reads the reply. */
export function rawSocket(baseUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(3000, () => socket.destroy());
  });
}
