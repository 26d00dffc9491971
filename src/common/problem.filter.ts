import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppLogger } from '../logging/app-logger';
import { sendProblem } from './answer';
import { toProblem } from './problem';

/** The one place where NestJS errors become RFC 9457 problem+json answers. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: AppLogger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(error);
    if (
      problem.status >= 500 &&
      problem.status !== 502 &&
      problem.status !== 503 &&
      problem.status !== 504
    ) {
      this.logger.error(
        { request_id: request.ctx.requestId, err: String(error) },
        'unhandled error',
      );
    }
    sendProblem(reply, problem);
  }
}
