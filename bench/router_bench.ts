/**
 * Router micro-benchmark: Palisade's Router against Hono 4's routers on the
 * same tables (static, `:param` and wildcard routes): a GitHub-API-like one
 * and the load harness's 200-route table, matching the same fixed set of
 * request paths per iteration.
 *
 * Run: `deno bench --allow-read --allow-env bench/router_bench.ts`
 *
 * @module
 */

import { Router } from "../src/router/router.ts";
import { ROUTES as SHARED_ROUTES, samplePath } from "./_routes.ts";
import { normalizePath, pathOf } from "../src/router/path.ts";
import { RegExpRouter } from "npm:hono@4/router/reg-exp-router";
import { TrieRouter } from "npm:hono@4/router/trie-router";
import { SmartRouter } from "npm:hono@4/router/smart-router";

/** A route table shaped like the GitHub REST API, 150+ routes. */
const ROUTES: [string, string][] = [
  // OAuth authorizations
  ["GET", "/authorizations"],
  ["GET", "/authorizations/:id"],
  ["POST", "/authorizations"],
  ["PUT", "/authorizations/clients/:client_id"],
  ["PATCH", "/authorizations/:id"],
  ["DELETE", "/authorizations/:id"],
  ["GET", "/applications/:client_id/tokens/:access_token"],
  ["DELETE", "/applications/:client_id/tokens"],
  ["DELETE", "/applications/:client_id/tokens/:access_token"],
  // Activity
  ["GET", "/events"],
  ["GET", "/repos/:owner/:repo/events"],
  ["GET", "/networks/:owner/:repo/events"],
  ["GET", "/orgs/:org/events"],
  ["GET", "/users/:user/received_events"],
  ["GET", "/users/:user/received_events/public"],
  ["GET", "/users/:user/events"],
  ["GET", "/users/:user/events/public"],
  ["GET", "/users/:user/events/orgs/:org"],
  ["GET", "/feeds"],
  ["GET", "/notifications"],
  ["GET", "/repos/:owner/:repo/notifications"],
  ["PUT", "/notifications"],
  ["PUT", "/repos/:owner/:repo/notifications"],
  ["GET", "/notifications/threads/:id"],
  ["PATCH", "/notifications/threads/:id"],
  ["GET", "/notifications/threads/:id/subscription"],
  ["PUT", "/notifications/threads/:id/subscription"],
  ["DELETE", "/notifications/threads/:id/subscription"],
  ["GET", "/repos/:owner/:repo/stargazers"],
  ["GET", "/users/:user/starred"],
  ["GET", "/user/starred"],
  ["GET", "/user/starred/:owner/:repo"],
  ["PUT", "/user/starred/:owner/:repo"],
  ["DELETE", "/user/starred/:owner/:repo"],
  ["GET", "/repos/:owner/:repo/subscribers"],
  ["GET", "/users/:user/subscriptions"],
  ["GET", "/user/subscriptions"],
  ["GET", "/repos/:owner/:repo/subscription"],
  ["PUT", "/repos/:owner/:repo/subscription"],
  ["DELETE", "/repos/:owner/:repo/subscription"],
  // Gists
  ["GET", "/users/:user/gists"],
  ["GET", "/gists"],
  ["GET", "/gists/public"],
  ["GET", "/gists/starred"],
  ["GET", "/gists/:id"],
  ["POST", "/gists"],
  ["PATCH", "/gists/:id"],
  ["PUT", "/gists/:id/star"],
  ["DELETE", "/gists/:id/star"],
  ["GET", "/gists/:id/star"],
  ["POST", "/gists/:id/forks"],
  ["DELETE", "/gists/:id"],
  // Git data
  ["GET", "/repos/:owner/:repo/git/blobs/:sha"],
  ["POST", "/repos/:owner/:repo/git/blobs"],
  ["GET", "/repos/:owner/:repo/git/commits/:sha"],
  ["POST", "/repos/:owner/:repo/git/commits"],
  ["GET", "/repos/:owner/:repo/git/refs/*"],
  ["POST", "/repos/:owner/:repo/git/refs"],
  ["GET", "/repos/:owner/:repo/git/tags/:sha"],
  ["POST", "/repos/:owner/:repo/git/tags"],
  ["GET", "/repos/:owner/:repo/git/trees/:sha"],
  ["POST", "/repos/:owner/:repo/git/trees"],
  // Issues
  ["GET", "/issues"],
  ["GET", "/user/issues"],
  ["GET", "/orgs/:org/issues"],
  ["GET", "/repos/:owner/:repo/issues"],
  ["GET", "/repos/:owner/:repo/issues/:number"],
  ["POST", "/repos/:owner/:repo/issues"],
  ["PATCH", "/repos/:owner/:repo/issues/:number"],
  ["GET", "/repos/:owner/:repo/assignees"],
  ["GET", "/repos/:owner/:repo/assignees/:assignee"],
  ["GET", "/repos/:owner/:repo/issues/:number/comments"],
  ["GET", "/repos/:owner/:repo/issues/comments"],
  ["GET", "/repos/:owner/:repo/issues/comments/:id"],
  ["POST", "/repos/:owner/:repo/issues/:number/comments"],
  ["PATCH", "/repos/:owner/:repo/issues/comments/:id"],
  ["DELETE", "/repos/:owner/:repo/issues/comments/:id"],
  ["GET", "/repos/:owner/:repo/issues/:number/events"],
  ["GET", "/repos/:owner/:repo/issues/events"],
  ["GET", "/repos/:owner/:repo/issues/events/:id"],
  ["GET", "/repos/:owner/:repo/labels"],
  ["GET", "/repos/:owner/:repo/labels/:name"],
  ["POST", "/repos/:owner/:repo/labels"],
  ["PATCH", "/repos/:owner/:repo/labels/:name"],
  ["DELETE", "/repos/:owner/:repo/labels/:name"],
  ["GET", "/repos/:owner/:repo/issues/:number/labels"],
  ["POST", "/repos/:owner/:repo/issues/:number/labels"],
  ["DELETE", "/repos/:owner/:repo/issues/:number/labels/:name"],
  ["PUT", "/repos/:owner/:repo/issues/:number/labels"],
  ["DELETE", "/repos/:owner/:repo/issues/:number/labels"],
  ["GET", "/repos/:owner/:repo/milestones/:number/labels"],
  ["GET", "/repos/:owner/:repo/milestones"],
  ["GET", "/repos/:owner/:repo/milestones/:number"],
  ["POST", "/repos/:owner/:repo/milestones"],
  ["PATCH", "/repos/:owner/:repo/milestones/:number"],
  ["DELETE", "/repos/:owner/:repo/milestones/:number"],
  // Miscellaneous
  ["GET", "/emojis"],
  ["GET", "/gitignore/templates"],
  ["GET", "/gitignore/templates/:name"],
  ["POST", "/markdown"],
  ["POST", "/markdown/raw"],
  ["GET", "/meta"],
  ["GET", "/rate_limit"],
  // Organizations
  ["GET", "/users/:user/orgs"],
  ["GET", "/user/orgs"],
  ["GET", "/orgs/:org"],
  ["PATCH", "/orgs/:org"],
  ["GET", "/orgs/:org/members"],
  ["GET", "/orgs/:org/members/:user"],
  ["DELETE", "/orgs/:org/members/:user"],
  ["GET", "/orgs/:org/public_members"],
  ["GET", "/orgs/:org/public_members/:user"],
  ["PUT", "/orgs/:org/public_members/:user"],
  ["DELETE", "/orgs/:org/public_members/:user"],
  ["GET", "/orgs/:org/teams"],
  ["GET", "/teams/:id"],
  ["POST", "/orgs/:org/teams"],
  ["PATCH", "/teams/:id"],
  ["DELETE", "/teams/:id"],
  ["GET", "/teams/:id/members"],
  ["GET", "/teams/:id/members/:user"],
  ["PUT", "/teams/:id/members/:user"],
  ["DELETE", "/teams/:id/members/:user"],
  ["GET", "/teams/:id/repos"],
  ["GET", "/teams/:id/repos/:owner/:repo"],
  ["PUT", "/teams/:id/repos/:owner/:repo"],
  ["DELETE", "/teams/:id/repos/:owner/:repo"],
  ["GET", "/user/teams"],
  // Pull requests
  ["GET", "/repos/:owner/:repo/pulls"],
  ["GET", "/repos/:owner/:repo/pulls/:number"],
  ["POST", "/repos/:owner/:repo/pulls"],
  ["PATCH", "/repos/:owner/:repo/pulls/:number"],
  ["GET", "/repos/:owner/:repo/pulls/:number/commits"],
  ["GET", "/repos/:owner/:repo/pulls/:number/files"],
  ["GET", "/repos/:owner/:repo/pulls/:number/merge"],
  ["PUT", "/repos/:owner/:repo/pulls/:number/merge"],
  ["GET", "/repos/:owner/:repo/pulls/:number/comments"],
  ["GET", "/repos/:owner/:repo/pulls/comments"],
  ["GET", "/repos/:owner/:repo/pulls/comments/:number"],
  ["PUT", "/repos/:owner/:repo/pulls/:number/comments"],
  ["PATCH", "/repos/:owner/:repo/pulls/comments/:number"],
  ["DELETE", "/repos/:owner/:repo/pulls/comments/:number"],
  // Repositories
  ["GET", "/user/repos"],
  ["GET", "/users/:user/repos"],
  ["GET", "/orgs/:org/repos"],
  ["GET", "/repositories"],
  ["POST", "/user/repos"],
  ["POST", "/orgs/:org/repos"],
  ["GET", "/repos/:owner/:repo"],
  ["PATCH", "/repos/:owner/:repo"],
  ["GET", "/repos/:owner/:repo/contributors"],
  ["GET", "/repos/:owner/:repo/languages"],
  ["GET", "/repos/:owner/:repo/teams"],
  ["GET", "/repos/:owner/:repo/tags"],
  ["GET", "/repos/:owner/:repo/branches"],
  ["GET", "/repos/:owner/:repo/branches/:branch"],
  ["DELETE", "/repos/:owner/:repo"],
  ["GET", "/repos/:owner/:repo/collaborators"],
  ["GET", "/repos/:owner/:repo/collaborators/:user"],
  ["PUT", "/repos/:owner/:repo/collaborators/:user"],
  ["DELETE", "/repos/:owner/:repo/collaborators/:user"],
  ["GET", "/repos/:owner/:repo/comments"],
  ["GET", "/repos/:owner/:repo/commits/:sha/comments"],
  ["POST", "/repos/:owner/:repo/commits/:sha/comments"],
  ["GET", "/repos/:owner/:repo/comments/:id"],
  ["PATCH", "/repos/:owner/:repo/comments/:id"],
  ["DELETE", "/repos/:owner/:repo/comments/:id"],
  ["GET", "/repos/:owner/:repo/commits"],
  ["GET", "/repos/:owner/:repo/commits/:sha"],
  ["GET", "/repos/:owner/:repo/readme"],
  ["GET", "/repos/:owner/:repo/contents/*"],
  ["PUT", "/repos/:owner/:repo/contents/*"],
  ["DELETE", "/repos/:owner/:repo/contents/*"],
  ["GET", "/repos/:owner/:repo/keys"],
  ["GET", "/repos/:owner/:repo/keys/:id"],
  ["POST", "/repos/:owner/:repo/keys"],
  ["PATCH", "/repos/:owner/:repo/keys/:id"],
  ["DELETE", "/repos/:owner/:repo/keys/:id"],
  ["GET", "/repos/:owner/:repo/downloads"],
  ["GET", "/repos/:owner/:repo/downloads/:id"],
  ["DELETE", "/repos/:owner/:repo/downloads/:id"],
  ["GET", "/repos/:owner/:repo/forks"],
  ["POST", "/repos/:owner/:repo/forks"],
  ["GET", "/repos/:owner/:repo/hooks"],
  ["GET", "/repos/:owner/:repo/hooks/:id"],
  ["POST", "/repos/:owner/:repo/hooks"],
  ["PATCH", "/repos/:owner/:repo/hooks/:id"],
  ["POST", "/repos/:owner/:repo/hooks/:id/tests"],
  ["DELETE", "/repos/:owner/:repo/hooks/:id"],
  ["POST", "/repos/:owner/:repo/merges"],
  ["GET", "/repos/:owner/:repo/releases"],
  ["GET", "/repos/:owner/:repo/releases/:id"],
  ["POST", "/repos/:owner/:repo/releases"],
  ["PATCH", "/repos/:owner/:repo/releases/:id"],
  ["DELETE", "/repos/:owner/:repo/releases/:id"],
  ["GET", "/repos/:owner/:repo/releases/:id/assets"],
  ["GET", "/repos/:owner/:repo/stats/contributors"],
  ["GET", "/repos/:owner/:repo/stats/commit_activity"],
  ["GET", "/repos/:owner/:repo/stats/code_frequency"],
  ["GET", "/repos/:owner/:repo/stats/participation"],
  ["GET", "/repos/:owner/:repo/stats/punch_card"],
  ["GET", "/repos/:owner/:repo/statuses/:ref"],
  ["POST", "/repos/:owner/:repo/statuses/:ref"],
  // Search
  ["GET", "/search/repositories"],
  ["GET", "/search/code"],
  ["GET", "/search/issues"],
  ["GET", "/search/users"],
  ["GET", "/legacy/issues/search/:owner/:repository/:state/:keyword"],
  ["GET", "/legacy/repos/search/:keyword"],
  ["GET", "/legacy/user/search/:keyword"],
  ["GET", "/legacy/user/email/:email"],
  // Users
  ["GET", "/users/:user"],
  ["GET", "/user"],
  ["PATCH", "/user"],
  ["GET", "/users"],
  ["GET", "/user/emails"],
  ["POST", "/user/emails"],
  ["DELETE", "/user/emails"],
  ["GET", "/users/:user/followers"],
  ["GET", "/user/followers"],
  ["GET", "/users/:user/following"],
  ["GET", "/user/following"],
  ["GET", "/user/following/:user"],
  ["GET", "/users/:user/following/:target_user"],
  ["PUT", "/user/following/:user"],
  ["DELETE", "/user/following/:user"],
  ["GET", "/users/:user/keys"],
  ["GET", "/user/keys"],
  ["GET", "/user/keys/:id"],
  ["POST", "/user/keys"],
  ["PATCH", "/user/keys/:id"],
  ["DELETE", "/user/keys/:id"],
  // Static files
  ["GET", "/assets/*"],
];

/** The request paths matched on each iteration: static, params, wildcards. */
const REQUESTS: [string, string][] = [
  ["GET", "/user/repos"],
  ["GET", "/repos/julienschmidt/httprouter/stargazers"],
  ["GET", "/repos/denoland/deno/issues/123/comments"],
  ["GET", "/users/octocat/followers"],
  ["DELETE", "/orgs/denoland/members/ry"],
  ["PUT", "/gists/aa5a315d61ae9438b18d/star"],
  ["GET", "/search/repositories"],
  ["GET", "/repos/denoland/deno/contents/runtime/js/99_main.js"],
  ["GET", "/repos/honojs/hono/git/refs/heads/main"],
  ["GET", "/repos/a/b/pulls/7/files"],
  ["GET", "/teams/42/repos/denoland/std"],
  ["GET", "/assets/css/site.css"],
];

/** One router under test: a name and a lookup returning > 0 when it found a route. */
interface Contender {
  name: string;
  lookup: (method: string, path: string) => number;
}

function contenders(
  table: [string, string][],
  requests: [string, string][],
): Contender[] {
  const ours = new Router<number>();
  const regexp = new RegExpRouter<number>();
  const trie = new TrieRouter<number>();
  const smart = new SmartRouter<number>({
    routers: [new RegExpRouter(), new TrieRouter()],
  });
  let regexpRejects = false;
  table.forEach(([method, path], i) => {
    ours.add(method, path, i);
    trie.add(method, path, i);
    smart.add(method, path, i);
    try {
      regexp.add(method, path, i);
    } catch {
      regexpRejects = true; // UnsupportedPathError
    }
  });
  const list: Contender[] = [
    {
      name: "palisade Router",
      // Route values are table indexes from 0: report found routes as >= 1.
      lookup: (m, p) => (ours.match(m, p)?.value ?? -1) + 1,
    },
    {
      name: "hono RegExpRouter",
      lookup: (m, p) => regexp.match(m, p)[0].length,
    },
    {
      name: "hono SmartRouter",
      lookup: (m, p) => smart.match(m, p)[0].length,
    },
    { name: "hono TrieRouter", lookup: (m, p) => trie.match(m, p)[0].length },
  ];
  // A router that rejects the table (RegExpRouter throws on ambiguous routes
  // when it builds on first match) is left out; every other router must find
  // a route for every request, or the comparison lies.
  return list.filter((c) => {
    if (c.name === "hono RegExpRouter" && regexpRejects) return false;
    try {
      c.lookup("GET", "/");
    } catch {
      return false;
    }
    for (const [method, path] of requests) {
      const found = c.lookup(method, path);
      if (found <= 0) {
        throw new Error(`${c.name} found no route for ${method} ${path}`);
      }
    }
    return true;
  });
}

/** The routes of ROUTES that Hono's RegExpRouter accepts, in order. */
function regexpCompatible(table: [string, string][]): [string, string][] {
  const kept: [string, string][] = [];
  for (const route of table) {
    const probe = new RegExpRouter<number>();
    try {
      for (const [m, p] of [...kept, route]) probe.add(m, p, 0);
      probe.match("GET", "/");
      kept.push(route);
    } catch {
      // UnsupportedPathError: RegExpRouter cannot express this table.
    }
  }
  return kept;
}

let sink = 0;

function register(
  group: string,
  table: [string, string][],
  requests: [string, string][] = REQUESTS,
): void {
  for (const c of contenders(table, requests)) {
    const lookup = c.lookup;
    Deno.bench({
      name: `${c.name} (${table.length} routes)`,
      group,
      baseline: c.name === "palisade Router",
      fn(): void {
        for (let i = 0; i < requests.length; i++) {
          const r = requests[i];
          sink += lookup(r[0], r[1]);
        }
      },
    });
  }
}

register("GitHub API table", ROUTES);
register("RegExpRouter-compatible table", regexpCompatible(ROUTES));

// The 200-route table the load harness serves (bench/_routes.ts), with every
// 17th of its routes (a dozen: static, one to three params, all methods)
// requested per iteration.
const SHARED: [string, string][] = SHARED_ROUTES.map((r) => [r.method, r.path]);
register(
  `load harness ${SHARED.length}-route table`,
  SHARED,
  SHARED.filter((_, i) => i % 17 === 3).map(([m, p]) => [m, samplePath(p)]),
);

/** Request.url shapes: clean (fast path), encoded, and collapsible. */
const URLS = [
  "http://127.0.0.1:8000/repos/denoland/deno/issues/123/comments?page=2",
  "http://127.0.0.1:8000/user/repos",
  "http://127.0.0.1:8000/.well-known/security.txt",
  "http://127.0.0.1:8000/files/caf%C3%A9/men%C3%BC.pdf",
  "http://127.0.0.1:8000//assets//css/site.css",
];

Deno.bench({
  name: "pathOf + normalizePath",
  group: "path",
  baseline: true,
  fn(): void {
    for (let i = 0; i < URLS.length; i++) {
      sink += normalizePath(pathOf(URLS[i])).length;
    }
  },
});

Deno.bench({
  name: "new URL().pathname (no decoding, no checks)",
  group: "path",
  fn(): void {
    for (let i = 0; i < URLS.length; i++) {
      sink += new URL(URLS[i]).pathname.length;
    }
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
