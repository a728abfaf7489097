/**
 * The 100-route table shared by the load harness servers and the router
 * benchmarks, so Palisade and Hono are measured on the same routes.
 *
 * Patterns use the syntax both routers accept: `:name` params and a trailing
 * `*` wildcard.
 *
 * @module
 */

/** One route of the benchmark table. */
export interface BenchRoute {
  /** Upper-case method, e.g. `"GET"`. */
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Pattern, e.g. `"/users/:id"` or `"/static/*"`. */
  readonly path: string;
}

/**
 * Routes the load scenarios hit; every server gives them real handlers. The
 * rest of the table gets a trivial handler.
 */
export const SCENARIO_ROUTES: ReadonlySet<string> = new Set([
  "GET /",
  "GET /users/:id",
  "POST /json",
  "GET /stream",
]);

const RESOURCES = [
  "posts",
  "comments",
  "orders",
  "products",
  "invoices",
  "teams",
  "projects",
  "tasks",
  "files",
  "events",
];

function buildRoutes(): BenchRoute[] {
  const routes: BenchRoute[] = [
    { method: "GET", path: "/" },
    { method: "GET", path: "/health" },
    { method: "GET", path: "/ready" },
    { method: "GET", path: "/version" },
    { method: "GET", path: "/about" },
    { method: "GET", path: "/login" },
    { method: "POST", path: "/login" },
    { method: "POST", path: "/logout" },
    { method: "GET", path: "/static/*" },
    { method: "GET", path: "/assets/*" },
    { method: "GET", path: "/docs/*" },
    { method: "POST", path: "/json" },
    { method: "GET", path: "/stream" },
  ];
  const half = RESOURCES.length / 2;
  for (let i = 0; i < RESOURCES.length; i++) {
    if (i === half) {
      // The param scenario's route sits in the middle of the table.
      routes.push(
        { method: "GET", path: "/users" },
        { method: "POST", path: "/users" },
        { method: "GET", path: "/users/:id" },
        { method: "PUT", path: "/users/:id" },
        { method: "DELETE", path: "/users/:id" },
        { method: "GET", path: "/users/:id/posts" },
        { method: "GET", path: "/users/:id/posts/:postId" },
      );
    }
    const base = `/api/v1/${RESOURCES[i]}`;
    routes.push(
      { method: "GET", path: base },
      { method: "POST", path: base },
      { method: "GET", path: `${base}/:id` },
      { method: "PUT", path: `${base}/:id` },
      { method: "PATCH", path: `${base}/:id` },
      { method: "DELETE", path: `${base}/:id` },
      { method: "GET", path: `${base}/:id/history` },
      { method: "GET", path: `${base}/:id/comments/:commentId` },
    );
  }
  return routes;
}

/**
 * The benchmark route table: 100 REST-style routes (static, params, three
 * wildcards), with `GET /users/:id` in the middle.
 *
 * @example Usage
 * ```ts
 * import { ROUTES } from "./_routes.ts";
 * for (const r of ROUTES) console.log(r.method, r.path);
 * ```
 */
export const ROUTES: readonly BenchRoute[] = Object.freeze(buildRoutes());

/**
 * Returns a concrete path that matches `pattern`: params become `"123"`, a
 * wildcard becomes `"css/site.css"`.
 *
 * @example Usage
 * ```ts
 * import { samplePath } from "./_routes.ts";
 * samplePath("/users/:id/posts/:postId"); // "/users/123/posts/123"
 * ```
 */
export function samplePath(pattern: string): string {
  return pattern.replace(/:[A-Za-z]+/g, "123").replace(/\*$/, "css/site.css");
}
