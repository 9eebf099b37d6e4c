/**
 * The sample's routes as Express serves them, read from the router of the running app (every Nest controller
 * route is one Express route), so a suite that walks "every route" also walks the routes added after it was
 * written.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';

/** One route: an upper-case HTTP method and the path pattern as registered (`/sessions/:handle`). */
export interface SampleRoute {
  method: string;
  path: string;
}

/** The layer shape of Express 5's router, as far as it is read here. */
interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean | undefined> };
}

/** Every method and path of the app's router, in registration order (Express's implicit HEAD/OPTIONS not listed). */
export function sampleRoutes(app: NestExpressApplication): SampleRoute[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: RouterLayer[] } };
  const stack = express.router?.stack;
  if (!stack) throw new Error('The Express app has no router stack: Express 5 (app.router.stack) is expected here.');
  const routes: SampleRoute[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (!on || method === '_all') continue;
      for (const path of paths) routes.push({ method: method.toUpperCase(), path });
    }
  }
  if (routes.length === 0) throw new Error('No route found in the Express router: has the app been initialised?');
  return routes;
}

/** A concrete URL for a route pattern: every `:param` (and `*wildcard`) becomes `value`. */
export function concretePath(path: string, value = 'no-such-id'): string {
  return path.replace(/[:*][A-Za-z0-9_]+/g, encodeURIComponent(value)).replace(/[{}]/g, '');
}
