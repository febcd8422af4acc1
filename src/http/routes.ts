import type { ErrorSurface } from './error-response.js';
import type { RequestScope } from './request-scope.js';

/**
 * An API surface: the error shape its clients parse and the headers that may carry their key.
 * Every route names one, so auth and error rendering never look at the path again.
 */
export interface ApiSurface {
  readonly errors: ErrorSurface;
  /** The key may come as `x-api-key: <key>` as well as `Authorization: Bearer <key>`. */
  readonly acceptsXApiKey: boolean;
  /** How a stream is framed (sse-writer.ts): OpenAI chunks, Anthropic events, or Responses events. */
  readonly events: 'openai' | 'anthropic' | 'responses';
}

export const surfaces = {
  openai: { errors: 'openai', acceptsXApiKey: false, events: 'openai' },
  /** Anthropic's SDKs send `x-api-key` (0.x) or Bearer (1.x); both are checked the same way. */
  anthropic: { errors: 'anthropic', acceptsXApiKey: true, events: 'anthropic' },
  /** OpenAI's Responses API (/v1/responses): OpenAI's errors, named events with sequence numbers. */
  responses: { errors: 'openai', acceptsXApiKey: false, events: 'responses' },
  /** Both vendors' SDKs list models at `/v1/models`: either key header works; errors in OpenAI's shape. */
  models: { errors: 'openai', acceptsXApiKey: true, events: 'openai' },
  /** The admin API (/admin/v1/*): API keys, JWTs or the bootstrap credential; errors in OpenAI's shape. */
  admin: { errors: 'openai', acceptsXApiKey: false, events: 'openai' },
  /** Probes and scrapes (/health, /ready, /metrics): no tenant key. */
  operator: { errors: 'openai', acceptsXApiKey: false, events: 'openai' },
} as const satisfies Record<string, ApiSurface>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Serves one matched request; must end the response (or hand it to something that will). */
export type RouteHandler = (scope: RequestScope) => void | Promise<void>;

/**
 * One row of a route table. `path` is exact (`/v1/models`), has `{name}` segments
 * (`/v1/models/{model}`) whose values reach the handler as `scope.params` in order, or ends in
 * `/*` (`/ui/*`): every path under that prefix, the rest (still percent-encoded: the handler
 * decides what it may name) as the one param. Exact paths and patterns are tried first.
 *
 * Adding a route (admin, dashboard, files, responses): add a row to the table of the listener it
 * belongs to (gateway-routes.ts: `dataPlaneRoutes` or `operatorRoutes`) with its surface, and, for a
 * POST that takes JSON, `body: 'json'` so the edge reads and parses the body (with the body limit)
 * before the handler runs. 404, 405 and `Allow` follow from the table; nothing else changes.
 */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly surface: ApiSurface;
  /**
   * `json`: the edge reads the body (limit, media type, parse) into `scope.body` first. `raw`: the
   * handler reads `scope.req` itself (a multipart upload, streamed); otherwise the body is discarded.
   */
  readonly body?: 'json' | 'raw';
  /** A smaller body limit than `server.bodyLimitBytes` for this route (admin bodies are small). */
  readonly bodyLimitBytes?: number;
  /**
   * The route's own request record (access log and metrics) is written by the handler (the
   * pipeline's operations); otherwise the edge records the request when its response ends.
   */
  readonly recordsItself?: boolean;
  /**
   * Probes and scrapes: a successful answer is not recorded (a load balancer probing every second
   * would drown the access log and the request metrics); refusals still are.
   */
  readonly quiet?: boolean;
  /** `gen_ai.operation.name` of the API operation served here, if any (for its metrics). */
  readonly operation?: 'chat' | 'text_completion' | 'embeddings';
  readonly handler: RouteHandler;
}

/** The routes sharing one path, by method, with the `Allow` value for a 405. */
export interface PathEntry {
  /** The path as written in the table: the `route` label of the request's metrics and log line. */
  readonly path: string;
  readonly byMethod: ReadonlyMap<string, Route>;
  readonly allow: string;
  /** The surface of the path's routes (the first row's): a 405 there answers in its shape. */
  readonly surface: ApiSurface;
}

interface Pattern {
  readonly segments: readonly string[];
  readonly entry: PathEntry;
}

/** What a request line matched. `params` holds `{name}` segment values (decoded). */
export interface RouteMatch {
  readonly entry: PathEntry;
  readonly params: readonly string[];
}

const noParams: readonly string[] = Object.freeze([]);

/**
 * A compiled route table: exact paths in a map (one lookup, no allocation on the hot path),
 * patterns tried in table order. Duplicate method+path rows are a programming error and throw.
 */
export class RouteTable {
  readonly #exact = new Map<string, RouteMatch>();
  readonly #patterns: Pattern[] = [];
  readonly #prefixes: Array<{ readonly prefix: string; readonly entry: PathEntry }> = [];
  /** Paths for the 404 message, in table order. */
  readonly paths: readonly string[];

  constructor(routes: readonly Route[]) {
    const grouped = new Map<string, Map<string, Route>>();
    for (const r of routes) {
      const methods = grouped.get(r.path) ?? new Map<string, Route>();
      if (methods.has(r.method)) throw new Error(`duplicate route ${r.method} ${r.path}`);
      methods.set(r.method, r);
      grouped.set(r.path, methods);
    }
    for (const [path, byMethod] of grouped) {
      const first = byMethod.values().next().value as Route;
      const entry: PathEntry = { path, byMethod, allow: [...byMethod.keys()].join(', '), surface: first.surface };
      if (path.endsWith('/*')) this.#prefixes.push({ prefix: path.slice(0, -1), entry });
      else if (path.includes('{')) this.#patterns.push({ segments: path.split('/'), entry });
      else this.#exact.set(path, { entry, params: noParams });
    }
    this.paths = [...grouped.keys()];
  }

  /** The path's routes, or undefined (404). `path` has no query string. */
  match(path: string): RouteMatch | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined || (this.#patterns.length === 0 && this.#prefixes.length === 0)) return exact;
    const parts = path.split('/');
    for (const p of this.#patterns) {
      const params = matchSegments(p.segments, parts);
      if (params) return { entry: p.entry, params };
    }
    for (const p of this.#prefixes) if (path.startsWith(p.prefix)) return { entry: p.entry, params: [path.slice(p.prefix.length)] };
    return undefined;
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): string[] | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as string;
    const got = parts[i] as string;
    if (want.startsWith('{')) {
      if (got === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(got);
      } catch {
        return undefined;
      }
      params.push(value);
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}
