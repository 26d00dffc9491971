/**
 * The drain of a real process (`node dist/main.js`) under keep-alive callers: from SIGTERM every
 * answer says Connection: close, so pooled callers move to another replica; a request still
 * arriving after the listener closed gets the documented problem+json 503.
 */
import { get as httpGet } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { expectProblem } from './support/expectations';
import { freePort, type Running, startNode } from './support/process';
import { parseReply } from './support/raw-http';
import { type AppInstance, CALLERS, clientsJson, POSTHOG_KEY, startBff } from './support/stack';

const MAIN = `${__dirname}/../dist/main.js`;
const AUTH = `Bearer ${CALLERS.admin.token}`;

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/health/ready', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });

describe('drain under keep-alive callers (SIGTERM, SHUTDOWN_DRAIN_MS=600)', () => {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
  let replica: AppInstance;
  let main: Running | undefined;

  beforeAll(async () => {
    await fake.start();
    replica = await startBff({ POSTHOG_HOST: fake.url, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    if (main && main.child.exitCode === null) main.child.kill('SIGKILL');
    await replica.close();
    await fake.stop();
  });

  async function startDraining(): Promise<{ port: number; main: Running }> {
    const port = await freePort();
    main = startNode([MAIN], {
      PORT: String(port),
      HOST: '127.0.0.1',
      POSTHOG_HOST: fake.url,
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      BFF_CLIENTS: clientsJson(),
      SHUTDOWN_DRAIN_MS: '600',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    await eventually(() => ready(port), { timeoutMs: 10_000, message: 'the service to be ready' });
    return { port, main };
  }

  it('moves a pipelining undici pool to the other replica with no failed request', async () => {
    const { port, main } = await startDraining();
    // A Kubernetes Service in miniature: new connections go to the first replica that is ready
    // (endpoints follow readiness); connections already open stay where they are.
    const replicaPort = Number(new URL(replica.url).port);
    let aReady = true;
    const poll = setInterval(() => {
      void ready(port).then((ok) => {
        aReady = ok;
      });
    }, 20);
    const sockets = new Set<Socket>();
    const balancer: Server = createServer((client) => {
      const upstream = connect(aReady ? port : replicaPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve));
    const balancerPort = (balancer.address() as { port: number }).port;
    const pool = new Pool(`http://127.0.0.1:${balancerPort}`, { connections: 4, pipelining: 4 });

    const answers: Array<{ status: number; requestId?: string; type?: string; close: boolean }> =
      [];
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        // Mostly one hot key (hits), some misses.
        const path =
          i % 5 === 0
            ? `/v1/integrations?limit=${1 + ((w * 1000 + i) % 50)}`
            : '/v1/integrations/1';
        try {
          const res = await pool.request({ path, method: 'GET', headers: { authorization: AUTH } });
          const body = await res.body.text();
          answers.push({
            status: res.statusCode,
            requestId: res.headers['x-request-id'] as string | undefined,
            type: res.statusCode === 503 ? JSON.parse(body).type : undefined,
            close: res.headers.connection === 'close',
          });
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    try {
      await sleep(300);
      main.child.kill('SIGTERM');
      const exit = await main.exited;
      await sleep(200);
      stop = true;
      await load;
      expect(exit.code).toBe(0);
      // Readiness answered 503 to the balancer's probes all along the drain: not an error.
      expect(exit.stdout.split('\n').filter((l) => /"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      stop = true;
      clearInterval(poll);
      await pool.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => balancer.close(resolve));
    }

    expect(failures).toEqual([]);
    const unexpected = answers.filter(
      (a) =>
        a.status !== 200 &&
        !(a.status === 503 && a.requestId && a.type === '/problems/shutting-down'),
    );
    expect(unexpected).toEqual([]);
    expect(answers.filter((a) => a.close).length).toBeGreaterThan(0); // the drain was exercised
    expect(answers.length).toBeGreaterThan(100);
  });

  it('answers a request that arrives after the listener closed with the problem+json 503, its request id and access line', async () => {
    const { port, main } = await startDraining();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString();
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    main.child.kill('SIGTERM');
    // The request is on the wire while the listener closes: its first line before, the rest after.
    socket.write('GET /v1/integrations/1 HTTP/1.1\r\n');
    await eventually(() => refused(port), { timeoutMs: 10_000, message: 'the listener to close' });
    socket.write(`Host: x\r\nAuthorization: ${AUTH}\r\nX-Request-Id: late-1\r\n\r\n`);
    await new Promise((resolve) => socket.once('close', resolve));

    expectProblem(parseReply(received), 503, 'shutting-down', {
      headers: { connection: 'close', 'x-request-id': 'late-1' },
    });

    const exit = await main.exited;
    expect(exit.code).toBe(0);
    const access = exit.stdout
      .split('\n')
      .filter((line) => line.includes('"request_id":"late-1"'))
      .map((line) => JSON.parse(line));
    expect(access).toMatchObject([{ status: 503, route: '/v1/integrations/:id' }]);
  });
});
