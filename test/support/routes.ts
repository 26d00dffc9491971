// The /v1 routes as the route tables declare them (src/routes/*.routes.ts), found by reading the
// folder so a table or route added there is covered by every suite that iterates them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyRoute } from '../../src/routes/route';

const ROUTES_DIR = join(__dirname, '..', '..', 'src', 'routes');

/** Every route of every route table, loaded synchronously (test lists are built at collection). */
export function declaredRoutes(): ProxyRoute[] {
  return readdirSync(ROUTES_DIR)
    .filter((file) => file.endsWith('.routes.ts'))
    .flatMap((file) => {
      const tables = require(join(ROUTES_DIR, file)) as Record<string, Record<string, ProxyRoute>>;
      return Object.values(tables).flatMap((table) => Object.values(table));
    });
}

/** How suites name a route: `GET /v1/integrations/:id`. */
export const label = (route: Pick<ProxyRoute, 'method' | 'path'>) =>
  `${route.method} ${route.path}`;

/** A valid new role external reference (a role of the seeded organization), for write samples. */
export const NEW_ROLE_REFERENCE = {
  provider: 'github',
  provider_organization_id: 'acme-inc',
  provider_role_id: '77',
  provider_role_name: 'Ops',
  role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
};
