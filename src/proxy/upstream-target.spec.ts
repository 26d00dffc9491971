import { Problem } from '../common/problem';
import { INTEGRATION_ROUTES } from '../routes/integrations.routes';
import { ORGANIZATION_INTEGRATION_ROUTES } from '../routes/organization-integrations.routes';
import { ROLE_REFERENCE_ROUTES } from '../routes/role-external-references.routes';
import { resolveTarget } from './upstream-target';

const ORG = '0191f3a4-5b6c-7d8e-9f00-112233445566';
const posthog = {
  name: 'web',
  posthog: { host: 'https://eu.posthog.example', projectId: '11', organizationId: ORG },
};

describe('resolveTarget', () => {
  describe('path placeholders', () => {
    it('puts POSTHOG_PROJECT_ID in {project} routes', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '7' });
      expect(target?.path).toBe('/api/projects/11/integrations/7/');
    });

    it('sends every integration route, helpers included, to /api/projects/ (never the deprecated /api/environments/ alias)', () => {
      for (const route of Object.values(INTEGRATION_ROUTES)) {
        const target = resolveTarget(route, posthog, { id: '7' });
        expect(target?.path).toMatch(/^\/api\/projects\/11\/integrations\//);
      }
    });

    it('puts POSTHOG_ORGANIZATION_ID in {organization} routes', () => {
      const target = resolveTarget(ORGANIZATION_INTEGRATION_ROUTES.get, posthog, {
        id: '5d1b0a2e-8c3f-4e7a-9b6d-0f1e2d3c4b5a',
      });
      expect(target?.path).toBe(
        `/api/organizations/${ORG}/integrations/5d1b0a2e-8c3f-4e7a-9b6d-0f1e2d3c4b5a/`,
      );
      expect(resolveTarget(ROLE_REFERENCE_ROUTES.lookup, posthog)?.path).toBe(
        `/api/organizations/${ORG}/role_external_references/lookup/`,
      );
    });

    it('accepts a numeric param as well as its string form, with the same key', () => {
      const fromNumber = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: 7 });
      const fromString = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '7' });
      expect(fromNumber).toEqual(fromString);
    });
  });

  describe('percent-encoding of path params', () => {
    it('keeps a param with slashes and dots as one encoded segment', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '1/../x' });
      expect(target?.path).toBe('/api/projects/11/integrations/1%2F..%2Fx/');
      expect(target?.path.split('/')).toHaveLength(7);
    });

    it('encodes query-ish and fragment characters so they cannot leave the segment', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '1?kind=x#y' });
      expect(target?.path).toBe('/api/projects/11/integrations/1%3Fkind%3Dx%23y/');
    });

    it.each(['..', '.', ''])('refuses the path segment %j (no dot-segment traversal)', (id) => {
      expect(resolveTarget(INTEGRATION_ROUTES.get, posthog, { id })).toBeUndefined();
    });
  });

  describe('query and cache key', () => {
    it('orders the query and the key canonically whatever the input order', () => {
      const a = resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { offset: 0, limit: 5 });
      const b = resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { limit: 5, offset: 0 });
      expect(a).toEqual(b);
      expect(a?.query).toEqual([
        ['limit', '5'],
        ['offset', '0'],
      ]);
      expect(a?.cacheKey).toBe(
        'web https://eu.posthog.example/api/projects/11/integrations/?limit=5&offset=0',
      );
    });

    it('keys on the upstream host, so two PostHog hosts never share an entry', () => {
      const us = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '1' });
      const eu = resolveTarget(
        INTEGRATION_ROUTES.get,
        { ...posthog, posthog: { ...posthog.posthog, host: 'https://us.posthog.example' } },
        { id: '1' },
      );
      expect(us?.path).toBe(eu?.path);
      expect(us?.cacheKey).not.toBe(eu?.cacheKey);
    });

    it('keys on the tenant, so two tenants of one project never share an entry', () => {
      const web = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '1' });
      const mobile = resolveTarget(
        INTEGRATION_ROUTES.get,
        { ...posthog, name: 'mobile' },
        { id: '1' },
      );
      expect(web?.path).toBe(mobile?.path);
      expect(web?.cacheKey).not.toBe(mobile?.cacheKey);
    });

    it('gives list routes the defaults limit=100 and offset=0, so no query and the defaults share a key', () => {
      const bare = resolveTarget(INTEGRATION_ROUTES.list, posthog);
      const explicit = resolveTarget(
        INTEGRATION_ROUTES.list,
        posthog,
        {},
        { limit: '100', offset: '0' },
      );
      expect(bare?.query).toEqual([
        ['limit', '100'],
        ['offset', '0'],
      ]);
      expect(bare?.cacheKey).toBe(explicit?.cacheKey);
    });

    it('keeps a filter beside the list defaults, in name order', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { kind: 'slack' });
      expect(target?.query).toEqual([
        ['kind', 'slack'],
        ['limit', '100'],
        ['offset', '0'],
      ]);
    });

    it('gives non-list routes no defaults', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.anthropicAgents, posthog, { id: '3' });
      expect(target?.query).toEqual([]);
    });

    it('differs in key when a query value differs', () => {
      const five = resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { limit: 5 });
      const six = resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { limit: 6 });
      expect(five?.cacheKey).not.toBe(six?.cacheKey);
    });

    it('skips undefined and null query values', () => {
      const target = resolveTarget(
        INTEGRATION_ROUTES.anthropicAgents,
        posthog,
        { id: '3' },
        { limit: undefined, after: null },
      );
      expect(target?.query).toEqual([]);
    });

    it('percent-encodes query values in the key, so a value cannot forge another parameter', () => {
      const forged = resolveTarget(
        INTEGRATION_ROUTES.anthropicAgents,
        posthog,
        { id: '3' },
        { after: 'x&limit=1' },
      );
      const honest = resolveTarget(
        INTEGRATION_ROUTES.anthropicAgents,
        posthog,
        { id: '3' },
        { after: 'x', limit: '1' },
      );
      expect(forged?.query).toEqual([['after', 'x&limit=1']]);
      expect(forged?.cacheKey).toContain('after=x%26limit%3D1');
      expect(forged?.cacheKey).not.toBe(honest?.cacheKey);
    });

    it("sends renamed parameters under PostHog's name while the key keeps the public name", () => {
      const route = INTEGRATION_ROUTES.linkedinConversionRules;
      const target = resolveTarget(route, posthog, { id: '9' }, { account_id: '5123' });
      expect(target?.query).toEqual([['accountId', '5123']]);
      expect(target?.cacheKey).toBe(
        'web https://eu.posthog.example/api/projects/11/integrations/9/linkedin_ads_conversion_rules/?account_id=5123',
      );
      expect(resolveTarget(route, posthog, { id: '9' }, { account_id: '5123' })?.cacheKey).toBe(
        target?.cacheKey,
      );
    });

    it('never puts a caller identity in the key (it is built from route, config and input only)', () => {
      const target = resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: '1' });
      expect(target?.cacheKey).toBe(
        'web https://eu.posthog.example/api/projects/11/integrations/1/?',
      );
    });
  });

  describe('organization routes without POSTHOG_ORGANIZATION_ID', () => {
    const noOrg = { ...posthog, posthog: { ...posthog.posthog, organizationId: undefined } };

    it.each([
      ['organization integrations', ORGANIZATION_INTEGRATION_ROUTES.list],
      ['role external references', ROLE_REFERENCE_ROUTES.list],
    ])('refuses %s with a 503 problem naming the variable', (_, route) => {
      let thrown: unknown;
      try {
        resolveTarget(route, noOrg);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Problem);
      expect((thrown as Problem).status).toBe(503);
      expect((thrown as Problem).detail).toContain('POSTHOG_ORGANIZATION_ID');
    });

    it('still resolves project and environment routes', () => {
      expect(resolveTarget(INTEGRATION_ROUTES.list, noOrg)?.path).toBe(
        '/api/projects/11/integrations/',
      );
    });
  });

  describe('raw input that is not a single scalar (the cache-hit path sees raw input)', () => {
    it('answers undefined for a repeated query parameter (an array)', () => {
      expect(
        resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { limit: ['5', '6'] }),
      ).toBeUndefined();
    });

    it('answers undefined for an object query value', () => {
      expect(
        resolveTarget(INTEGRATION_ROUTES.list, posthog, {}, { kind: { $ne: 'x' } }),
      ).toBeUndefined();
    });

    it('answers undefined for a missing or non-scalar path param', () => {
      expect(resolveTarget(INTEGRATION_ROUTES.get, posthog, {})).toBeUndefined();
      expect(resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: ['1', '2'] })).toBeUndefined();
      expect(resolveTarget(INTEGRATION_ROUTES.get, posthog, { id: { a: 1 } })).toBeUndefined();
    });
  });
});
