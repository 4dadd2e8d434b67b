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
import * as cmd from "./protocol/command.ts";
import type { HelloFields } from "./protocol/handshake.ts";
import { detectRuntime } from "./runtime/detect.ts";
import type { Runtime, TlsOptions } from "./runtime/types.ts";
import { envUrl, parseUrl } from "./settings.ts";

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
   * `tcp(+tls)://(:password@)host:port(/namespace)`. Defaults to the URL in
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
  /** Overrides the URL's namespace (a prefix for every queue name). */
  readonly namespace?: string | undefined;
  /** `true` or TLS settings (extra CA certificates) turn TLS on; `false` off. Defaults to the URL's scheme. */
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
  /** Socket adapter; detected when absent. */
  readonly runtime?: Runtime | undefined;
  /** Where to log (default `console`). */
  readonly logger?: Logger | undefined;
  /** Aborts the initial connect. */
  readonly signal?: AbortSignal | undefined;
}

/** {@linkcode ClientOptions} resolved: what every connection of a client, pool or worker opens with. */
export interface ClientConfig {
  readonly runtime: Runtime;
  readonly hostname: string;
  readonly port: number;
  readonly tls: TlsOptions | undefined;
  readonly password: string | undefined;
  readonly namespace: string | undefined;
  readonly hello: HelloFields;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  readonly backoff: BackoffPolicy;
  readonly logger: Logger;
}

/** Configs made here: resolving one again returns it as it is. */
const resolved = new WeakSet<object>();

/**
 * Fills in defaults and checks every option before anything connects. Done
 * once per client, producer or worker; their connections share the result.
 */
export function resolveClientOptions(options: ClientOptions | ClientConfig): ClientConfig {
  if (resolved.has(options)) return options as ClientConfig;
  const o = options as ClientOptions;
  const runtime = o.runtime ?? detectRuntime();
  const url = o.url ?? envUrl((name) => runtime.env(name));
  const address = parseUrl(url);
  const port = o.port ?? address.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`Invalid port ${port}: use 1-65535`);
  }
  const namespace = o.namespace ?? address.namespace;
  if (namespace !== undefined) cmd.validateQueue(namespace, "namespace");
  const tls = o.tls === undefined
    ? (address.tls ? {} : undefined)
    : o.tls === false
    ? undefined
    : o.tls === true
    ? {}
    : o.tls;
  const labels = o.labels ?? [];
  for (const label of labels) {
    if (typeof label !== "string") throw new ValidationError("Labels must be strings");
  }
  if (o.wid !== undefined) cmd.validateWord(o.wid, "worker id");
  const config: ClientConfig = {
    runtime,
    hostname: o.hostname ?? address.hostname,
    port,
    tls,
    password: o.password ?? address.password,
    namespace,
    hello: { hostname: runtime.hostname(), pid: runtime.pid(), labels, wid: o.wid },
    connectTimeout: positive(o.connectTimeout, 10_000, "connectTimeout"),
    commandTimeout: positive(o.commandTimeout, 10_000, "commandTimeout"),
    backoff: {
      base: positive(o.backoff?.base, DEFAULT_BACKOFF.base, "backoff.base"),
      max: positive(o.backoff?.max, DEFAULT_BACKOFF.max, "backoff.max"),
    },
    logger: o.logger ?? console,
  };
  resolved.add(config);
  return config;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new ValidationError(`Invalid ${name} ${value}: use a positive number of milliseconds`);
  }
  return value;
}
