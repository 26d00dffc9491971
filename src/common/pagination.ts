import { UpstreamFailure } from '../upstream/upstream-errors';

/** Our one list shape, built from PostHog's count/next/previous/results page. */
export interface ListPage<T = unknown> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
}

export function toListPage(upstreamBody: string, limit: number, offset: number): ListPage {
  let page: { count?: unknown; next?: unknown; results?: unknown };
  try {
    page = JSON.parse(upstreamBody);
  } catch {
    page = {};
  }
  if (typeof page?.count !== 'number' || !Array.isArray(page.results)) {
    throw new UpstreamFailure('server', 502, 'PostHog answered a list in an unexpected shape.');
  }
  return {
    items: page.results,
    total: page.count,
    limit,
    offset,
    next_offset: page.next ? offset + limit : null,
  };
}
