// DOCS_ENABLED=false: no Swagger UI and no document (nor the module that serves them); /v1 unchanged.
import { type Stack, startStack } from './support/stack';

describe('DOCS_ENABLED=false', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ DOCS_ENABLED: 'false' });
  });
  afterAll(() => stack.close());

  it('answers 404 for /docs and /docs-json, and /v1 as usual', async () => {
    for (const path of ['/docs', '/docs-json']) {
      expect({ path, status: (await stack.client.get(path, { as: null })).status }).toEqual({
        path,
        status: 404,
      });
    }
    expect((await stack.client.get('/v1/integrations/1')).status).toBe(200);
  });
});
