/**
 * Radix-tree router: static segments, `:param` segments and a trailing `*`
 * wildcard, matched against paths normalised by `normalizePath`.
 *
 * Layout: one tree per method, each holding that method's routes and the
 * `ALL` routes (an exact-method route replaces the `ALL` route of the same
 * pattern), plus one tree for `ALL` alone that serves every other method.
 * Fully static patterns live in a `Map` from path to a prebuilt, frozen
 * {@linkcode RouteMatch}, so a static hit allocates nothing. Patterns with a
 * param or a wildcard live in a character radix tree (children indexed by
 * char code) that is walked with `charCodeAt` and backtracks static → param
 * → wildcard; nothing is allocated during the walk, and only the param values
 * are sliced once a route has been found. Every tree node is visited at most
 * once per lookup, so a match costs at most the size of the tree, whatever
 * the path (no pathological backtracking).
 *
 * @module
 */

/**
 * The result of {@linkcode Router.prototype.match}.
 *
 * @typeParam T The value registered with the route.
 */
export interface RouteMatch<T> {
  /** The value given to {@linkcode Router.prototype.add}. */
  value: T;
  /**
   * Decoded param values by name; the wildcard's rest of the path is under
   * `"*"`. A null-prototype object; for static routes it is one shared frozen
   * empty object, so do not write to it.
   */
  params: Record<string, string>;
  /** The matched pattern as registered, e.g. `"/users/:id"`. */
  pattern: string;
}

/** A registered route. */
interface Route<T> {
  readonly method: string;
  readonly pattern: string;
  readonly value: T;
  /** Param names in path order. */
  readonly names: readonly string[];
  readonly wildcard: boolean;
  /** Prebuilt result for static patterns. */
  readonly result: RouteMatch<T> | null;
}

/** A route slot: the exact-method route and the `ALL` route, exact first. */
class Slot<T> {
  exact: Route<T> | null = null;
  all: Route<T> | null = null;
}

/** A radix tree node. A param node is one held in another node's `param`. */
class RadixNode<T> {
  /** Static characters this node consumes (empty for the root and params). */
  prefix: string;
  /** First char code of `prefix`. */
  code: number;
  /** Static children, with distinct `code`s. */
  kids: RadixNode<T>[] = [];
  /** `kids` by ASCII char code (null where none); non-ASCII ones are scanned. */
  index: (RadixNode<T> | null)[] = [];
  /** The `:param` child: consumes one non-empty segment. */
  param: RadixNode<T> | null = null;
  /** Route that ends exactly here. */
  end: Route<T> | null = null;
  /** Route whose `*` starts here: matches the end of the path or "/rest". */
  wild: Route<T> | null = null;
  endSlot: Slot<T> | null = null;
  wildSlot: Slot<T> | null = null;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.code = prefix.charCodeAt(0);
  }
}

/** Routes of one method (merged with `ALL`), or of `ALL` alone. */
class Tree<T> {
  /** Static pattern → prebuilt match. */
  statics: Map<string, RouteMatch<T>> = new Map();
  staticSlots: Map<string, Slot<T>> = new Map();
  /** Root of the tree of patterns with params or a wildcard. */
  root: RadixNode<T> | null = null;
}

/** A parsed pattern: static runs, params and the wildcard, in order. */
interface Parsed {
  /** Static strings and markers: `{ param: name }` or `{ wildcard: true }`. */
  tokens: ({ s: string } | { param: string } | { wildcard: true })[];
  names: string[];
  wildcard: boolean;
  /** Pattern with param names erased: two patterns conflict when equal. */
  shape: string;
}

const EMPTY_PARAMS: Record<string, string> = Object.freeze(
  Object.create(null),
);

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Param positions of the current lookup: start, end pairs. */
const positions: number[] = [];
/** Where the wildcard's value starts in the current lookup. */
let wildStart = 0;

/**
 * A radix-tree router mapping a method and a normalised path to a value.
 *
 * Patterns: `/`, `/users`, `/users/:id`, `/users/:id/posts/:postId`,
 * `/files/*`, `/a/:x/*`. A `:param` is a whole segment and matches one
 * non-empty segment; its name matches `[A-Za-z_][A-Za-z0-9_]*`. A `*` is
 * allowed only as the last segment: `/files/*` matches `/files`, `/files/`
 * and `/files/a/b`, with `params["*"]` set to the rest without the leading
 * slash (`""`, `""`, `"a/b"`). Patterns are matched against decoded paths; a
 * trailing slash is significant (`/users` does not match `/users/`).
 *
 * Priority at every segment: static > `:param` > `*`, with backtracking
 * (`/a/b/c` tries `/a/b/...` first and falls back to `/a/:x/...`). A route of
 * the request's method wins over an `ALL` route of the same pattern; a more
 * specific pattern wins over method specificity.
 *
 * @typeParam T The value stored with each route, e.g. a handler chain.
 *
 * @example Usage
 * ```ts
 * import { Router } from "./router.ts";
 * const router = new Router<string>();
 * router.add("GET", "/users/:id", "user");
 * router.add("ALL", "/files/*", "files");
 * router.match("GET", "/users/42"); // { value: "user", params: { id: "42" }, pattern: "/users/:id" }
 * router.match("PUT", "/files/a/b")?.params["*"]; // "a/b"
 * router.allowed("/users/42"); // ["GET"]
 * ```
 */
export class Router<T> {
  #trees: Map<string, Tree<T>> = new Map();
  #all: Tree<T> = new Tree();
  #allRoutes: Route<T>[] = [];
  #keys: Set<string> = new Set();

  /**
   * Registers `value` for `method` and `pattern`.
   *
   * @param method Upper-case method, or `"ALL"` for any method.
   * @param pattern The route pattern, see {@linkcode Router}.
   * @param value The value returned by {@linkcode Router.prototype.match}.
   * @throws {TypeError} When the pattern is invalid (no leading `/`, `*` not
   * last, empty or invalid param name, duplicate param names, empty or dot
   * segment) or the method and pattern are already registered.
   *
   * @example Usage
   * ```ts
   * import { Router } from "./router.ts";
   * const router = new Router<number>();
   * router.add("POST", "/users", 1);
   * router.add("ALL", "/health", 2);
   * ```
   */
  add(method: string, pattern: string, value: T): void {
    if (typeof method !== "string" || method === "") {
      throw new TypeError(`Route method must be a non-empty string`);
    }
    const parsed = parsePattern(pattern);
    const key = method + " " + parsed.shape;
    if (this.#keys.has(key)) {
      throw new TypeError(
        `Route ${method} ${pattern} conflicts with a route already registered for ${method} ${parsed.shape}`,
      );
    }
    this.#keys.add(key);
    const isStatic = parsed.names.length === 0 && !parsed.wildcard;
    const route: Route<T> = {
      method,
      pattern,
      value,
      names: parsed.names,
      wildcard: parsed.wildcard,
      result: isStatic
        ? Object.freeze({ value, params: EMPTY_PARAMS, pattern })
        : null,
    };
    if (method === "ALL") {
      this.#allRoutes.push(route);
      insert(this.#all, parsed, route, false);
      for (const tree of this.#trees.values()) {
        insert(tree, parsed, route, false);
      }
      return;
    }
    let tree = this.#trees.get(method);
    if (tree === undefined) {
      tree = new Tree();
      for (const r of this.#allRoutes) {
        insert(tree, parsePattern(r.pattern), r, false);
      }
      this.#trees.set(method, tree);
    }
    insert(tree, parsed, route, true);
  }

  /**
   * Finds the route for a method and a normalised path. Does not fall back
   * from `HEAD` to `GET`; call again with `"GET"` for that.
   *
   * @param method The request method, upper-case.
   * @param path A path returned by `normalizePath`.
   * @returns The value, params and pattern of the best route, or null when
   * no route matches for this method.
   *
   * @example Usage
   * ```ts
   * import { Router } from "./router.ts";
   * const router = new Router<string>();
   * router.add("GET", "/a/:x/*", "h");
   * const m = router.match("GET", "/a/1/b/c");
   * m?.params.x; // "1"
   * m?.params["*"]; // "b/c"
   * ```
   */
  match(method: string, path: string): RouteMatch<T> | null {
    const tree = this.#trees.get(method) ?? this.#all;
    const hit = tree.statics.get(path);
    if (hit !== undefined) return hit;
    const root = tree.root;
    if (root === null) return null;
    const route = walk(root, path, 0, 0);
    if (route === null) return null;
    const params: Record<string, string> = Object.create(null);
    const names = route.names;
    const pos = positions;
    for (let k = 0; k < names.length; k++) {
      params[names[k]] = path.slice(pos[2 * k], pos[2 * k + 1]);
    }
    if (route.wildcard) params["*"] = path.slice(wildStart);
    return { value: route.value, params, pattern: route.pattern };
  }

  /**
   * Lists the methods registered for patterns that match `path`: upper-case,
   * sorted, unique, without `"ALL"`. Empty when no pattern of any specific
   * method matches. Meant for the `Allow` header of a 405 (the caller adds
   * `HEAD` for `GET` if it falls back); slower than `match`. When an `ALL`
   * route matches the path, every method that has routes is listed; `match`
   * never misses on such a path, so a 405 never asks.
   *
   * @param path A path returned by `normalizePath`.
   * @returns The allowed methods.
   *
   * @example Usage
   * ```ts
   * import { Router } from "./router.ts";
   * const router = new Router<string>();
   * router.add("GET", "/users/:id", "get");
   * router.add("DELETE", "/users/:id", "delete");
   * router.allowed("/users/1"); // ["DELETE", "GET"]
   * ```
   */
  allowed(path: string): string[] {
    const out: string[] = [];
    for (const [method, tree] of this.#trees) {
      if (lookup(tree, path)) out.push(method);
    }
    return out.sort();
  }
}

/** Whether any route of `tree` matches `path`. */
function lookup<T>(tree: Tree<T>, path: string): boolean {
  if (tree.statics.has(path)) return true;
  return tree.root !== null && walk(tree.root, path, 0, 0) !== null;
}

/**
 * Depth-first search from `node`, whose prefix ends at `i`: static child,
 * then param, then wildcard. Records param positions at `positions[d..]`.
 */
function walk<T>(
  node: RadixNode<T>,
  path: string,
  i: number,
  d: number,
): Route<T> | null {
  const len = path.length;
  if (i === len) {
    if (node.end !== null) return node.end;
  } else {
    const c = path.charCodeAt(i);
    let kid: RadixNode<T> | null = null;
    if (c < 128) {
      const index = node.index;
      if (c < index.length) kid = index[c];
    } else {
      kid = wideKid(node, c);
    }
    if (kid !== null) {
      // Compare the rest of the prefix by hand: faster than startsWith here.
      const p = kid.prefix;
      const pl = p.length;
      let j = 1; // charCodeAt past the end is NaN, which ends the loop
      while (j < pl && p.charCodeAt(j) === path.charCodeAt(i + j)) j++;
      if (j === pl) {
        const r = walk(kid, path, i + pl, d);
        if (r !== null) return r;
      }
    }
    const pn = node.param;
    if (pn !== null && c !== 47) {
      let e = path.indexOf("/", i);
      if (e === -1) e = len;
      positions[d] = i;
      positions[d + 1] = e;
      const r = walk(pn, path, e, d + 2);
      if (r !== null) return r;
    }
  }
  const w = node.wild;
  if (w !== null) {
    if (i === len) {
      wildStart = len;
      return w;
    }
    if (path.charCodeAt(i) === 47) {
      wildStart = i + 1;
      return w;
    }
  }
  return null;
}

/** The static child whose prefix starts with the non-ASCII char code `c`. */
function wideKid<T>(node: RadixNode<T>, c: number): RadixNode<T> | null {
  for (const kid of node.kids) if (kid.code === c) return kid;
  return null;
}

/** Rebuilds the ASCII char code → child table of `node`. */
function reindex<T>(node: RadixNode<T>): void {
  const index: (RadixNode<T> | null)[] = [];
  for (const kid of node.kids) {
    if (kid.code >= 128) continue;
    while (index.length <= kid.code) index.push(null);
    index[kid.code] = kid;
  }
  node.index = index;
}

/** Adds `route` to `tree`, as the exact-method or the `ALL` route of its slot. */
function insert<T>(
  tree: Tree<T>,
  parsed: Parsed,
  route: Route<T>,
  exact: boolean,
): void {
  if (route.result !== null) {
    const path = route.pattern;
    let slot = tree.staticSlots.get(path);
    if (slot === undefined) {
      slot = new Slot();
      tree.staticSlots.set(path, slot);
    }
    if (exact) slot.exact = route;
    else slot.all = route;
    tree.statics.set(path, (slot.exact ?? slot.all)!.result!);
    return;
  }
  let node = tree.root ??= new RadixNode("");
  for (const t of parsed.tokens) {
    if ("s" in t) node = descend(node, t.s);
    else if ("param" in t) node = node.param ??= new RadixNode("");
    else {
      const slot = node.wildSlot ??= new Slot();
      if (exact) slot.exact = route;
      else slot.all = route;
      node.wild = slot.exact ?? slot.all;
      return;
    }
  }
  const slot = node.endSlot ??= new Slot();
  if (exact) slot.exact = route;
  else slot.all = route;
  node.end = slot.exact ?? slot.all;
}

/** Walks or creates the static characters `s` below `node`; returns the last node. */
function descend<T>(node: RadixNode<T>, s: string): RadixNode<T> {
  while (s.length > 0) {
    const c = s.charCodeAt(0);
    const kids = node.kids;
    const k = kids.findIndex((kid) => kid.code === c);
    if (k === -1) {
      const kid = new RadixNode<T>(s);
      kids.push(kid);
      reindex(node);
      return kid;
    }
    let kid = kids[k];
    const p = kid.prefix;
    let l = 1;
    while (
      l < p.length && l < s.length && p.charCodeAt(l) === s.charCodeAt(l)
    ) {
      l++;
    }
    if (l < p.length) {
      // Split `kid` at `l`: a new node holds the common part.
      const head = new RadixNode<T>(p.slice(0, l));
      kid.prefix = p.slice(l);
      kid.code = kid.prefix.charCodeAt(0);
      head.kids.push(kid);
      kids[k] = head;
      reindex(head);
      reindex(node);
      kid = head;
    }
    node = kid;
    s = s.slice(l);
  }
  return node;
}

/** Parses and validates a pattern; throws TypeError naming it. */
function parsePattern(pattern: string): Parsed {
  if (typeof pattern !== "string" || pattern.charCodeAt(0) !== 47) {
    throw new TypeError(`Route pattern ${String(pattern)} must start with "/"`);
  }
  const segs = pattern.split("/");
  const tokens: Parsed["tokens"] = [];
  const names: string[] = [];
  let wildcard = false;
  let shape = "";
  let buf = "";
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (seg === "" && !last) {
      throw new TypeError(
        `Route pattern ${pattern} has an empty segment, which never matches a normalised path`,
      );
    }
    if (seg === "." || seg === "..") {
      throw new TypeError(
        `Route pattern ${pattern} has the dot segment "${seg}", which never matches a normalised path`,
      );
    }
    if (seg.indexOf("\\") !== -1 || seg.indexOf("\0") !== -1) {
      throw new TypeError(
        `Route pattern ${pattern} contains a backslash or NUL, which never matches a normalised path`,
      );
    }
    if (seg.charCodeAt(0) === 58) { // ":"
      const name = seg.slice(1);
      if (name === "") {
        throw new TypeError(`Route pattern ${pattern} has an empty param name`);
      }
      if (!NAME_RE.test(name)) {
        throw new TypeError(
          `Route pattern ${pattern} has the invalid param name "${name}": a param is a whole segment named [A-Za-z_][A-Za-z0-9_]*`,
        );
      }
      if (names.includes(name)) {
        throw new TypeError(
          `Route pattern ${pattern} uses the param name "${name}" twice`,
        );
      }
      names.push(name);
      tokens.push({ s: buf + "/" }, { param: name });
      buf = "";
      shape += "/:";
    } else if (seg.indexOf("*") !== -1) {
      if (seg !== "*" || !last) {
        throw new TypeError(
          `Route pattern ${pattern} has a "*" that is not the whole last segment`,
        );
      }
      wildcard = true;
      tokens.push({ s: buf }, { wildcard: true });
      buf = "";
      shape += "/*";
    } else {
      buf += "/" + seg;
      shape += "/" + seg;
    }
  }
  if (buf !== "") tokens.push({ s: buf });
  return { tokens, names, wildcard, shape };
}
