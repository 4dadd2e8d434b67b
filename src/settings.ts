/**
 * Connection settings: the `tcp(+tls)://(user:password@)host:port(/namespace)`
 * URL, and reading it from the environment the way faktory_worker_haskell
 * does (`FAKTORY_PROVIDER` names the variable holding the URL).
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import { validateQueue } from "./protocol/command.ts";
import { checkValue, ENV } from "./rules.ts";

/** The default server URL. */
export const DEFAULT_URL = "tcp://localhost:7419";

/**
 * Where a server is and how to reach it: the parts of a Faktory URL.
 *
 * @example
 * ```ts
 * import { parseUrl } from "./settings.ts";
 * const server = parseUrl("tcp+tls://:secret@faktory.internal:7419/billing.");
 * console.log(server.hostname, server.port, server.tls, server.namespace);
 * // faktory.internal 7419 true billing.
 * ```
 */
export interface ServerAddress {
  /** Host name or IP address. */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
  /** Use TLS (`tcp+tls://`). */
  readonly tls: boolean;
  /** Password from the URL, if any. Never logged. */
  readonly password?: string | undefined;
  /**
   * User name from the URL, if any: sent in HELLO, as Go's and Ruby's
   * clients send it, for a proxy in front of Faktory (the server ignores it).
   * Never logged.
   */
  readonly username?: string | undefined;
  /**
   * Prefix added to every queue name on push and fetch, as in
   * faktory_worker_haskell: `/app.` turns queue `default` into `app.default`.
   */
  readonly namespace?: string | undefined;
}

/**
 * Parses a Faktory URL: `tcp://host:port`, `tcp+tls://host:port`, with an
 * optional `user:password@` (either may be left out: `:password@`) and an
 * optional `/namespace`. Throws
 * {@linkcode ValidationError} naming the problem; the message shows the URL
 * through {@linkcode maskUrl} and quotes no other part of it.
 *
 * @example
 * ```ts
 * import { parseUrl } from "./settings.ts";
 * const { hostname, port } = parseUrl("tcp://localhost:7419");
 * console.log(hostname, port); // localhost 7419
 * ```
 */
export function parseUrl(url: string): ServerAddress {
  const bad = (why: string) =>
    new ValidationError(
      `Invalid Faktory URL ${quoteMasked(url)}: ${why}; ` +
        `expected tcp(+tls)://(user:password@)host:port(/namespace)`,
    );
  if (typeof url !== "string") throw bad("it is not a string");
  const scheme = SCHEME.exec(url)?.[1];
  if (scheme === undefined) throw bad("it has no scheme");
  if (scheme !== "tcp" && scheme !== "tcp+tls") {
    throw bad(`unknown scheme "${scheme}", use tcp or tcp+tls`);
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf("@");
  // A URL's authority ends at the first "/", "?" or "#": a password holding
  // one would leave the host in the path.
  if (/[/?#]/.test(rest.slice(0, Math.max(at, 0)))) {
    throw bad('percent-encode a password holding "/", "?" or "#" (encodeURIComponent)');
  }
  const hostPort = rest.slice(at + 1).split(/[/?#]/)[0] ?? "";
  if (hostPort === "" || hostPort.startsWith(":")) throw bad("it has no host");
  const portText = /:([^:\]]*)$/.exec(hostPort)?.[1];
  if (portText === undefined || portText === "") throw bad("it has no port");
  if (!/^\d+$/.test(portText)) throw bad(`the port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad("the port must be 1-65535");
  let parsed: URL;
  try {
    parsed = new URL(url); // its error would quote the URL: not passed on
  } catch {
    throw bad("it cannot be parsed");
  }
  if (parsed.hostname === "") throw bad("it has no host");
  if (parsed.search !== "" || parsed.hash !== "") throw bad("it has a query or fragment");
  const path = parsed.pathname.replace(/^\//, "");
  let namespace: string | undefined;
  if (path !== "") {
    try {
      namespace = validateQueue(decodeURIComponent(path), "namespace");
    } catch {
      throw bad('the namespace may only contain letters, digits, ".", "_" and "-"');
    }
  }
  const password = parsed.password === "" ? undefined : decodeUserinfo(parsed.password);
  const username = parsed.username === "" ? undefined : decodeUserinfo(parsed.username);
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    hostname,
    port,
    tls: scheme === "tcp+tls",
    password,
    namespace,
    ...(username === undefined ? {} : { username }),
  };
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

function decodeUserinfo(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The URL with everything between the scheme and the last `@` replaced by
 * `***`, for messages and logs. That is the userinfo (user and password)
 * however the URL is malformed: a password may hold any character, even
 * `@`, `/` or `:`, and only the last `@` surely ends it. A URL without `@`
 * has no userinfo and is returned as it is.
 *
 * @example
 * ```ts
 * import { maskUrl } from "./settings.ts";
 * console.log(maskUrl("tcp://:secret@localhost:7419")); // tcp://:***@localhost:7419
 * console.log(maskUrl("tcp://:se/cr@t@localhost:7419")); // tcp://:***@localhost:7419
 * ```
 */
export function maskUrl(url: string): string {
  const at = url.lastIndexOf("@");
  if (at < 0) return url;
  const start = Math.min(SCHEME.exec(url)?.[0].length ?? 0, at);
  return `${url.slice(0, start)}${url[start] === ":" ? ":" : ""}***${url.slice(at)}`;
}

/** The masked URL in quotes, cut short if long (it may come from a junk variable). */
function quoteMasked(url: unknown): string {
  const text = JSON.stringify(typeof url === "string" ? maskUrl(url) : String(url));
  return text.length > 120 ? `${text.slice(0, 117)}..."` : text;
}

/** Reads one environment variable; `undefined` when unset. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Settings read from the environment.
 *
 * @example
 * ```ts
 * import { envSettings } from "./settings.ts";
 * const env = envSettings((name) => ({ FAKTORY_URL: "tcp://faktory:7419" })[name]);
 * console.log(env.url, env.queue); // tcp://faktory:7419 default
 * ```
 */
export interface EnvSettings {
  /** The server URL: the variable `FAKTORY_PROVIDER` names (default `FAKTORY_URL`), else the default URL. */
  readonly url: string;
  /** `FAKTORY_QUEUE`, default `default`. */
  readonly queue: string;
  /** `FAKTORY_WORKER_ID`, if set. */
  readonly workerId?: string | undefined;
  /** `FAKTORY_POOL_SIZE`, if set. */
  readonly poolSize?: number | undefined;
}

/**
 * Reads `FAKTORY_PROVIDER` (the name of the variable that holds the URL,
 * default `FAKTORY_URL`), that variable (default `tcp://localhost:7419`),
 * `FAKTORY_QUEUE`, `FAKTORY_WORKER_ID` and `FAKTORY_POOL_SIZE`. Every value is
 * checked; a bad one is a {@linkcode ValidationError} naming the variable.
 *
 * @example
 * ```ts
 * import { envSettings } from "./settings.ts";
 * const vars: Record<string, string> = { FAKTORY_PROVIDER: "MY_URL", MY_URL: "tcp://:pw@q:7419" };
 * console.log(envSettings((name) => vars[name]).url); // tcp://:pw@q:7419
 * ```
 */
export function envSettings(env: EnvReader): EnvSettings {
  return {
    url: envUrl(env),
    queue: envQueue(env),
    workerId: envWorkerId(env),
    poolSize: envPoolSize(env),
  };
}

/**
 * The server URL from the environment: see {@linkcode envSettings}. A
 * `FAKTORY_PROVIDER` naming a variable that is not set is an error, not a
 * silent fallback to localhost.
 */
export function envUrl(env: EnvReader): string {
  const named = env("FAKTORY_PROVIDER") || undefined;
  if (named !== undefined) checkValue(ENV.FAKTORY_PROVIDER!, named, "FAKTORY_PROVIDER");
  const provider = named ?? "FAKTORY_URL";
  const url = env(provider) || undefined;
  if (url === undefined) {
    if (named === undefined) return DEFAULT_URL;
    throw new ValidationError(
      `FAKTORY_PROVIDER names ${provider}, which is not set: set ${provider} to the server's URL, or unset FAKTORY_PROVIDER`,
    );
  }
  checkValue(ENV.FAKTORY_URL!, url, provider);
  try {
    parseUrl(url);
  } catch (e) {
    throw new ValidationError(`${provider}: ${(e as Error).message}`);
  }
  return url;
}

/** `FAKTORY_QUEUE`, checked; default `default`. */
export function envQueue(env: EnvReader): string {
  const queue = env("FAKTORY_QUEUE") || "default";
  checkValue(ENV.FAKTORY_QUEUE!, queue, "FAKTORY_QUEUE");
  return queue;
}

/** `FAKTORY_WORKER_ID`, checked, if set. */
export function envWorkerId(env: EnvReader): string | undefined {
  const workerId = env("FAKTORY_WORKER_ID") || undefined;
  if (workerId !== undefined) checkValue(ENV.FAKTORY_WORKER_ID!, workerId, "FAKTORY_WORKER_ID");
  return workerId;
}

/** `FAKTORY_POOL_SIZE`, checked, if set. */
export function envPoolSize(env: EnvReader): number | undefined {
  const pool = env("FAKTORY_POOL_SIZE") || undefined;
  if (pool !== undefined) checkValue(ENV.FAKTORY_POOL_SIZE!, pool, "FAKTORY_POOL_SIZE");
  return pool === undefined ? undefined : Number(pool);
}

/** Prefixes a queue name with the namespace, if any. */
export function namespaced(namespace: string | undefined, queue: string): string {
  return namespace === undefined ? queue : namespace + queue;
}
