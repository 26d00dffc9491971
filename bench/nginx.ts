/**
 * Baseline (b): nginx `proxy_cache` in front of the (fake) PostHog, with a config of its own
 * in a temp prefix, run in the foreground (`daemon off`) as a child of the runner.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, POSTHOG_KEY, type Service, spawnChild, TMP_DIR, waitReady } from './processes';

/** `nginx -v` (e.g. "nginx/1.22.1"), or undefined when nginx is not installed. */
export function nginxVersion(): string | undefined {
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /nginx\/\S+/.exec(result.stderr)?.[0] ?? result.stderr.trim();
}

export interface NginxOptions {
  /** Base URL of the (fake) PostHog, e.g. http://127.0.0.1:8010. */
  upstream: string;
  /** `proxy_cache_valid 200 <n>s`; 30 like the BFF's default CACHE_TTL_SECONDS. */
  validSeconds: number;
}

/**
 * One worker process (the BFF is one Node process: same CPU budget), access_log off (stated in
 * the results), keep-alive to the upstream, the PostHog key injected like the BFF does, and the
 * caching behaviour the BFF matches (README, Caching): lock, use_stale updating, background
 * update. The X-Cache header carries $upstream_cache_status (HIT, MISS, UPDATING, STALE...).
 */
export function nginxConfig(prefix: string, port: number, options: NginxOptions): string {
  const upstream = new URL(options.upstream);
  return `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy_temp;
  fastcgi_temp_path ${prefix}/fastcgi_temp;
  uwsgi_temp_path ${prefix}/uwsgi_temp;
  scgi_temp_path ${prefix}/scgi_temp;
  keepalive_requests 1000000;
  proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=bench:10m max_size=256m inactive=10m use_temp_path=off;
  upstream posthog {
    server ${upstream.hostname}:${upstream.port};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://posthog;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${POSTHOG_KEY}";
      proxy_cache bench;
      proxy_cache_key $request_uri;
      proxy_cache_valid 200 ${options.validSeconds}s;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_use_stale updating error timeout;
      proxy_cache_background_update on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`;
}

export async function startNginx(name: string, options: NginxOptions): Promise<Service> {
  const port = await freePort();
  const prefix = join(TMP_DIR, name);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, port, options));
  const child = spawnChild(
    name,
    'nginx',
    ['-c', conf, '-p', prefix, '-e', join(prefix, 'error.log')],
    {},
    'server',
  );
  const url = `http://127.0.0.1:${port}`;
  // Any path proves it listens; /_health is the fake's own unauthenticated probe.
  await waitReady(child, `${url}/_health`);
  return { child, url };
}
