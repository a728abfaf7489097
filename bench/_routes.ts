/**
 * The 200-route table shared by the load harness servers and the router
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
  "GET /big",
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
  "customers",
  "payments",
  "shipments",
  "reviews",
  "carts",
  "coupons",
  "webhooks",
  "tickets",
  "notes",
  "reports",
];

/** GitHub-like nested routes: two and three params deep, one wildcard. */
const NESTED: BenchRoute[] = [
  { method: "GET", path: "/orgs/:org" },
  { method: "GET", path: "/orgs/:org/members" },
  { method: "GET", path: "/orgs/:org/members/:user" },
  { method: "DELETE", path: "/orgs/:org/members/:user" },
  { method: "GET", path: "/orgs/:org/repos" },
  { method: "POST", path: "/orgs/:org/repos" },
  { method: "GET", path: "/repos/:owner/:repo" },
  { method: "PATCH", path: "/repos/:owner/:repo" },
  { method: "GET", path: "/repos/:owner/:repo/issues" },
  { method: "POST", path: "/repos/:owner/:repo/issues" },
  { method: "GET", path: "/repos/:owner/:repo/issues/:number" },
  { method: "PATCH", path: "/repos/:owner/:repo/issues/:number" },
  { method: "GET", path: "/repos/:owner/:repo/issues/:number/comments" },
  { method: "GET", path: "/repos/:owner/:repo/pulls/:number/files" },
  { method: "GET", path: "/repos/:owner/:repo/contents/*" },
  { method: "GET", path: "/search/repositories" },
  { method: "GET", path: "/search/users" },
  { method: "GET", path: "/me" },
  { method: "GET", path: "/me/settings" },
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
    { method: "GET", path: "/big" },
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
  routes.push(...NESTED);
  return routes;
}

/**
 * The benchmark route table: 200 REST-style routes (static, one to three
 * params deep, four wildcards), with `GET /users/:id` in the middle.
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
