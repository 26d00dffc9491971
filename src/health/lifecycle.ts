import { Injectable } from '@nestjs/common';

/**
 * Where the process is on its way out: `draining` from SIGTERM (readiness 503, every answer says
 * Connection: close), `closed` once the listener stopped accepting (a request still arriving on an
 * open socket is answered 503 shutting-down).
 */
@Injectable()
export class Lifecycle {
  draining = false;
  closed = false;
  private readonly drainListeners: Array<() => void> = [];

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  startDraining(): void {
    this.draining = true;
    for (const listener of this.drainListeners) listener();
  }
}
