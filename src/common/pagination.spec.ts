import { UpstreamFailure } from '../upstream/upstream-errors';
import { toListPage } from './pagination';

const page = (body: unknown) => JSON.stringify(body);

describe('toListPage', () => {
  it("maps PostHog's count/next/previous/results to items/total/limit/offset/next_offset", () => {
    const body = page({
      count: 7,
      next: 'https://us.posthog.com/api/projects/1/integrations/?limit=2&offset=4',
      previous: 'https://us.posthog.com/api/projects/1/integrations/?limit=2',
      results: [{ id: 3 }, { id: 4 }],
    });
    expect(toListPage(body, 2, 2)).toEqual({
      items: [{ id: 3 }, { id: 4 }],
      total: 7,
      limit: 2,
      offset: 2,
      next_offset: 4,
    });
  });

  it('answers next_offset null on the last page (next is null)', () => {
    const body = page({ count: 3, next: null, previous: null, results: [1, 2, 3] });
    expect(toListPage(body, 100, 0)).toEqual({
      items: [1, 2, 3],
      total: 3,
      limit: 100,
      offset: 0,
      next_offset: null,
    });
  });

  it('answers next_offset null when next is absent', () => {
    expect(toListPage(page({ count: 0, results: [] }), 100, 0).next_offset).toBeNull();
  });

  it('computes next_offset from our limit and offset, not from the link PostHog built', () => {
    const body = page({ count: 500, next: 'https://elsewhere/?offset=999', results: [] });
    expect(toListPage(body, 50, 100).next_offset).toBe(150);
  });

  it('passes items through unchanged and does not forward previous', () => {
    const item = { id: 1, config: { nested: [1, { deep: true }] }, created_by: null };
    const result = toListPage(page({ count: 1, next: null, previous: 'x', results: [item] }), 1, 0);
    expect(result.items).toEqual([item]);
    expect(result).not.toHaveProperty('previous');
  });

  it.each([
    ['a body that is not JSON', '<html>oops</html>'],
    ['an empty body', ''],
    ['JSON null', 'null'],
    ['an array', '[1,2]'],
    ['results missing', page({ count: 1, next: null })],
    ['results not an array', page({ count: 1, results: { a: 1 } })],
    ['count missing', page({ results: [] })],
    ['count a string', page({ count: '3', results: [] })],
  ])('throws a 502 UpstreamFailure for %s', (_, body) => {
    let thrown: unknown;
    try {
      toListPage(body, 100, 0);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamFailure);
    expect((thrown as UpstreamFailure).status).toBe(502);
    expect((thrown as UpstreamFailure).kind).toBe('server');
    expect((thrown as UpstreamFailure).detail).toMatch(/unexpected shape/);
  });
});
