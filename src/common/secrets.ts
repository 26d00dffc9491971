/**
 * Every PostHog key this process has held (configured, or read from a key file, old ones after a
 * rotation included): the log's scrubbing destination removes each from every line. Process-wide
 * on purpose: a key must never reach any log line, whichever module writes it.
 */
const secrets = new Set<string>();

export function rememberSecret(value: string): void {
  if (value) secrets.add(value);
}

export function knownSecrets(): ReadonlySet<string> {
  return secrets;
}
