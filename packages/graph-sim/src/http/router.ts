import type { SimRequest, SimResponse } from '../types.ts';

export type Params = Record<string, string>;
export type Handler<C> = (req: SimRequest, params: Params, ctx: C) => Promise<SimResponse> | SimResponse;

interface Route<C> {
  method: string;
  segments: string[];
  handler: Handler<C>;
}

export type RouteMatch<C> =
  | { kind: 'found'; handler: Handler<C>; params: Params }
  | { kind: 'wrong-method'; allowed: string[] }
  | { kind: 'none' };

/** Path patterns like `/users/:userId/events/:eventId`; literal segments match case-insensitively, as Graph's do. */
export class Router<C> {
  private readonly routes: Route<C>[] = [];

  add(method: string, pattern: string, handler: Handler<C>): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  match(method: string, path: string): RouteMatch<C> {
    const parts = split(path);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method.toUpperCase()) return { kind: 'found', handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length ? { kind: 'wrong-method', allowed } : { kind: 'none' };
  }
}

const split = (path: string): string[] => path.split('/').filter(Boolean);

function matchSegments(pattern: string[], parts: string[]): Params | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const value = parts[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(value);
      } catch {
        return undefined;
      }
    } else if (p.toLowerCase() !== value.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}
