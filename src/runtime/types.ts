/**
 * The small interface the core is written against. Everything runtime
 * specific (sockets, environment, signals) lives behind it, so the rest of the
 * library never names `Deno`, `Bun` or `node:*`.
 *
 * @module
 */

/** TLS settings for a connection. Certificates and host names are always verified. */
export interface TlsOptions {
  /**
   * Extra trusted certificates in PEM form, added to the built-in roots: a
   * private CA, or a server's self-signed certificate.
   *
   * Deno, Bun and Node all accept a self-signed certificate here, also one
   * marked `CA:TRUE` as `openssl req -x509` makes by default: on Deno the
   * library runs TLS through `node:tls`, because Deno's own TLS
   * (`Deno.connectTls`, `Deno.startTls`) refuses a `CA:TRUE` certificate
   * used as the server's (`CaUsedAsEndEntity`). A certificate every client
   * accepts, also a custom {@linkcode Runtime} on Deno's own TLS, is marked
   * `CA:FALSE` and names the host in its subjectAltName:
   *
   * ```sh
   * openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=faktory.internal \
   *   -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth \
   *   -addext subjectAltName=DNS:faktory.internal \
   *   -keyout private.key.pem -out public.cert.pem
   * ```
   */
  readonly caCerts?: readonly string[];
  /** Name to verify the certificate against (SNI). Defaults to the host name. */
  readonly serverName?: string;
  /**
   * A client certificate (PEM, optionally followed by its intermediates),
   * for a server or proxy that requires one (mutual TLS). Give `key` with it.
   */
  readonly cert?: string;
  /** The client certificate's private key (PEM, unencrypted). Never logged. */
  readonly key?: string;
}

/** What {@linkcode Runtime.connect} needs. */
export interface ConnectOptions {
  /** Host name or IP address. */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
  /** Use TLS with these settings; plain TCP when absent. */
  readonly tls?: TlsOptions | undefined;
  /** Aborting it cancels the connect and destroys a half-open socket. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A connected byte stream. Reads are pulled: while nobody calls
 * {@linkcode Socket.read}, the adapter stops reading from the network
 * (back-pressure towards the server); {@linkcode Socket.write} resolves only
 * once the runtime has room for more (back-pressure towards the caller).
 * Failures reject with `ConnectionError`.
 */
export interface Socket extends AsyncDisposable {
  /** Resolves with the next chunk, or `null` once the peer closed. One read at a time. */
  read(): Promise<Uint8Array | null>;
  /** Writes every byte; resolves when the runtime can take more. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes at once; pending reads resolve `null`, pending writes reject. Idempotent. */
  close(): void;
  /** Resolves once the socket is closed, for whatever reason. Never rejects. */
  readonly closed: Promise<void>;
}

/**
 * A signal the worker reacts to: quiet on `SIGTSTP`, stop on
 * `SIGTERM`/`SIGINT`, log the running jobs on `SIGTTIN`.
 */
export type ProcessSignal = "SIGTERM" | "SIGINT" | "SIGTSTP" | "SIGTTIN";

/**
 * One JavaScript runtime: how to open sockets and read the process's
 * surroundings. {@linkcode loadRuntime} loads the built-in one; pass your
 * own to connect through something else (a proxy, an in-memory pipe).
 */
export interface Runtime {
  /** Short name, e.g. `deno`, `bun`, `node`. */
  readonly name: string;
  /** Opens a TCP (or TLS) connection with keepalive and no Nagle delay. */
  connect(options: ConnectOptions): Promise<Socket>;
  /** An environment variable, or `undefined` (also when access is denied). */
  env(name: string): string | undefined;
  /** This machine's host name, for HELLO. */
  hostname(): string;
  /** This process's id, for HELLO. */
  pid(): number;
  /** Resident set size in KiB, for BEAT; `undefined` if unknown. */
  rssKb(): number | undefined;
  /** Calls `handler` on `signal`; returns a function that removes it. */
  onSignal(signal: ProcessSignal, handler: () => void): () => void;
}
