import { STATUS_CODES } from 'node:http';
import { defaultProblemName, PROBLEM_TYPES, type ProblemName, problemUri } from './problem-types';

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem, thrown by any module and rendered in one place (renderProblem). */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    /** Its cause (the README's error table); else the usual cause of its status. */
    readonly type: ProblemName = defaultProblemName(status),
  ) {
    super(detail);
  }

  static badRequest(detail: string, errors: FieldError[] = []): Problem {
    return new Problem(400, detail, errors);
  }

  static tooManyRequests(detail: string, retryAfterSeconds: number): Problem {
    return new Problem(429, detail, [], { 'retry-after': String(Math.max(1, retryAfterSeconds)) });
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  errors: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** A problem as it goes on the wire: status, headers, body. The only place bodies are built. */
export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function renderProblem(problem: Problem, requestId: string): RenderedProblem {
  const body: ProblemBody = {
    type: problemUri(problem.type),
    title: PROBLEM_TYPES[problem.type]?.title ?? STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    request_id: requestId,
    errors: problem.errors,
  };
  return {
    status: problem.status,
    headers: {
      ...problem.headers,
      'content-type': PROBLEM_CONTENT_TYPE,
      'x-request-id': requestId,
    },
    body: JSON.stringify(body),
  };
}

/** Turns anything thrown into a Problem: our own, Nest's HttpExceptions, Fastify's errors. */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const status = statusOf(error);
  if (status === undefined || status >= 500) {
    return new Problem(500, 'Internal error; see the service logs with this request_id.');
  }
  const messages: Record<number, string> = {
    400: 'The request is malformed.',
    404: 'No such route.',
    405: 'Method not allowed.',
    413: 'The request body is larger than 1 MiB.',
    415: 'Unsupported content type: send application/json.',
  };
  let detail = messages[status] ?? STATUS_CODES[status] ?? 'Error';
  if (status === 400 && error instanceof Error && error.message) {
    // e.g. a body that is not JSON, or carries a refused __proto__ / constructor.prototype key
    detail = `The request is malformed: ${error.message}`;
  }
  return new Problem(status, detail);
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { getStatus?: () => number; statusCode?: number; status?: number };
  if (typeof e.getStatus === 'function') return e.getStatus();
  const status = e.statusCode ?? e.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}
