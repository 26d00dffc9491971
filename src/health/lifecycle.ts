import { Injectable } from '@nestjs/common';

/** Whether the process is draining for shutdown (readiness then answers 503). */
@Injectable()
export class Lifecycle {
  draining = false;
}
