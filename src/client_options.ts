/**
 * How to reach the server: the options of every connection, and the same
 * options resolved once (defaults, environment, URL) into what a connection
 * is opened with.
 *
 * @module
 */

import { type Backoff, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import { ValidationError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { HelloFields } from "./protocol/handshake.ts";
import { checkOptions, CLIENT_OPTIONS, type Rules } from "./rules.ts";
import { envOf } from "./runtime/default.ts";
import type { Runtime, TlsOptions } from "./runtime/types.ts";
import { envUrl, parseUrl } from "./settings.ts";
import { guardLogger } from "./untrusted.ts";

/**
 * How to reach the server and how long to wait for it.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@faktory-ts/faktory";
 * const options: ClientOptions = {
 *   url: "tcp+tls://:secret@faktory.internal:7419",
 *   tls: { caCerts: ["-----BEGIN CERTIFICATE-----\n..."] },
 *   commandTimeout: 5_000,
 * };
 * ```
 */
export interface ClientOptions {
  /**
   * `tcp(+tls)://(user:password@)host:port(/namespace)`. Defaults to the URL in
   * the environment variable named by `FAKTORY_PROVIDER` (default
   * `FAKTORY_URL`), else `tcp://localhost:7419`.
   */
  readonly url?: string | undefined;
  /** Overrides the URL's host. */
  readonly hostname?: string | undefined;
  /** Overrides the URL's port. */
  readonly port?: number | undefined;
  /** Overrides the URL's password. */
  readonly password?: string | undefined;
  /**
   * Overrides the URL's user name, sent in HELLO for a proxy in front of
   * Faktory (the server ignores it). Never logged.
   */
  readonly username?: string | undefined;
  /** Overrides the URL's namespace (a prefix for every queue name). */
  readonly namespace?: string | undefined;
  /**
   * `true` or TLS settings (extra CA certificates, a client certificate)
   * turn TLS on; `false` off. Defaults to the URL's scheme. Certificates and
   * host names are always verified.
   */
  readonly tls?: boolean | TlsOptions | undefined;
  /** Labels shown in the web UI. */
  readonly labels?: readonly string[] | undefined;
  /** Worker id: set only for a worker's connections, it registers a heartbeat entry. */
  readonly wid?: string | undefined;
  /** Limit on connecting plus handshake, in ms (default 10 000). */
  readonly connectTimeout?: number | undefined;
  /** Limit on each command's reply, in ms (default 10 000); FETCH gets 2 s more for its wait. */
  readonly commandTimeout?: number | undefined;
  /**
   * How long to wait after failures in a row (default `{ base: 100, max: 5000 }`):
   * between reconnects, and for a worker also between failed FETCHes, ACK and
   * FAIL retries and attempts to add a reporting connection.
   */
  readonly backoff?: Backoff | undefined;
  /** Socket adapter; by default the entry point's (detected, or Cloudflare's in `./cloudflare`). */
  readonly runtime?: Runtime | undefined;
  /** Where to log (default `console`). A call that throws or rejects loses its line, nothing else. */
  readonly logger?: Logger | undefined;
  /** Aborts the initial connect. */
  readonly signal?: AbortSignal | undefined;
}

/** {@linkcode ClientOptions} resolved: what every connection of a client, pool or worker opens with. */
export interface ClientConfig {
  /** The `runtime` option; the entry point's default is loaded at connect time. */
  readonly runtime: Runtime | undefined;
  readonly hostname: string;
  readonly port: number;
  readonly tls: TlsOptions | undefined;
  readonly password: string | undefined;
  readonly namespace: string | undefined;
  /** HELLO fields but the host name and pid, which come from the runtime at connect time. */
  readonly hello: Omit<HelloFields, "hostname" | "pid">;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  readonly backoff: BackoffPolicy;
  readonly logger: Logger;
}

/** Configs made here: resolving one again returns it as it is. */
const resolved = new WeakSet<object>();

/**
 * Checks every option against `rules` (see rules.ts; `null` when the caller
 * checked them already) and fills in the defaults, before anything connects.
 * Done once per client, producer or worker; their connections share the result.
 */
export function resolveClientOptions(
  options: ClientOptions | ClientConfig,
  rules: Rules | null = CLIENT_OPTIONS,
): ClientConfig {
  if (resolved.has(options)) return options as ClientConfig;
  if (rules !== null) checkOptions(rules, options, "client options");
  const o = options as ClientOptions;
  const address = parseUrl(o.url ?? envUrl(envOf(o.runtime)));
  const tls = o.tls === undefined
    ? (address.tls ? {} : undefined)
    : o.tls === false
    ? undefined
    : o.tls === true
    ? {}
    : o.tls;
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    throw new ValidationError(
      "Give tls.cert and tls.key together: a client certificate needs its private key",
    );
  }
  const config: ClientConfig = {
    runtime: o.runtime,
    hostname: o.hostname ?? address.hostname,
    port: o.port ?? address.port,
    tls,
    password: o.password ?? address.password,
    namespace: o.namespace ?? address.namespace,
    hello: {
      labels: [...(o.labels ?? [])],
      wid: o.wid,
      username: o.username ?? address.username,
    },
    connectTimeout: o.connectTimeout ?? 10_000,
    commandTimeout: o.commandTimeout ?? 10_000,
    backoff: {
      base: o.backoff?.base ?? DEFAULT_BACKOFF.base,
      max: o.backoff?.max ?? DEFAULT_BACKOFF.max,
    },
    // User code: a logger that throws must not break what it logs.
    logger: guardLogger(o.logger ?? console),
  };
  resolved.add(config);
  return config;
}
