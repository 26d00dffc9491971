/**
 * One parse: the cache key is built from the request as validated, so a URL that validation
 * refuses is refused whether or not an entry exists, and two URLs that validation tells apart never
 * share an entry. Property: for random query strings, the answer's status is the same when the
 * cache is cold (Cache-Control: no-cache reads nothing stored) as when every valid neighbour of the
 * URL is cached.
 */
import fc from 'fast-check';
import { expectProblem } from './support/expectations';
import { type Stack, startStack } from './support/stack';

const NAMES = [
  'limit',
  'offset',
  'kind',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'LIMIT',
  'limit[]',
  'limit.x',
  'unknown',
  '',
];
const VALUES = ['7', '07', '0', '-1', '1e1', '7.0', ' 7', '', 'slack', 'a b', '%00', '%37', '101'];

const pair = fc
  .tuple(fc.constantFrom(...NAMES), fc.constantFrom(...VALUES), fc.boolean())
  .map(([name, value, bare]) => (bare && value === '' ? name : `${name}=${value}`));
const query = fc.array(pair, { minLength: 1, maxLength: 4 }).map((pairs) => pairs.join('&'));

describe('one parse: validation decides, whether or not an entry exists', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ CACHE_TTL_SECONDS: '300' });
  });
  afterAll(() => stack.close());

  const status = async (path: string, cold = false) =>
    (await stack.client.get(path, { headers: cold ? { 'cache-control': 'no-cache' } : {} })).status;

  it('answers `?limit=7&__proto__=x` 400 also once `?limit=7` is cached', async () => {
    expect(await status('/v1/integrations?limit=7')).toBe(200);
    expect((await stack.client.get('/v1/integrations?limit=7')).headers.get('x-cache')).toBe('HIT');
    for (let i = 0; i < 2; i++) {
      const refused = await stack.client.get('/v1/integrations?limit=7&__proto__=x');
      expectProblem(refused, 400, 'validation');
      expect(refused.json.errors).toEqual([
        { field: '__proto__', message: 'property __proto__ should not exist' },
      ]);
    }
  });

  it('property: for random query strings, the cached and the uncached answer have one status', async () => {
    // Every valid list URL a random one could be mistaken for, cached first.
    for (const limit of ['7', '0', '1', '101']) {
      for (const offset of ['', '&offset=0', '&offset=7']) {
        await stack.client.get(`/v1/integrations?limit=${limit}${offset}`);
      }
    }
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const path = `/v1/integrations?${q}`;
        const cold = await status(path, true);
        const warm = await status(path);
        const again = await status(path); // now cached, if it is valid
        expect([warm, again]).toEqual([cold, cold]);
      }),
      { numRuns: 150 },
    );
  });
});
