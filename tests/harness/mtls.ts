/**
 * Test harness: mutual TLS in front of a real Faktory. A private CA issues a
 * server certificate for `localhost` and client certificates; a node:tls
 * proxy that requires a client certificate from that CA (`requestCert`,
 * `rejectUnauthorized`) forwards each connection to a TLS Faktory, as a TLS
 * terminator in front of Faktory would. Uses only `node:` builtins and
 * `openssl`, so it runs on Deno, Bun and Node.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import * as fsp from "node:fs/promises";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { FaktoryServer } from "./faktory.ts";

/** A certificate and its key, in PEM. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A private CA and what it issued. */
export interface Authority extends KeyPair {
  /** Issues a CA:FALSE certificate for `cn`, for `use` (a server also gets localhost names). */
  issue(cn: string, use: "serverAuth" | "clientAuth"): Promise<KeyPair>;
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("openssl", args, { cwd }, (err, _out, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve();
    })
  );
}

/** A fresh CA (RSA 2048, two days) in a temp dir of its own, removed by `dispose`. */
export async function makeAuthority(name: string): Promise<Authority & AsyncDisposable> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "mtls-"));
  const read = (file: string) => fsp.readFile(path.join(dir, file), "utf8");
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ], dir);
  let serial = 0;
  return {
    cert: await read("ca.pem"),
    key: await read("ca.key"),
    async issue(cn, use) {
      const id = `${use}-${++serial}`;
      const names = use === "serverAuth" ? "DNS:localhost,IP:127.0.0.1,IP:::1" : `DNS:${cn}`;
      await fsp.writeFile(
        path.join(dir, `${id}.ext`),
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n` +
          `extendedKeyUsage=${use}\nsubjectAltName=${names}\n`,
      );
      await openssl([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        `/CN=${cn}`,
        "-keyout",
        `${id}.key`,
        "-out",
        `${id}.csr`,
      ], dir);
      await openssl([
        "x509",
        "-req",
        "-in",
        `${id}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(1000 + serial),
        "-days",
        "2",
        "-extfile",
        `${id}.ext`,
        "-out",
        `${id}.pem`,
      ], dir);
      return { cert: await read(`${id}.pem`), key: await read(`${id}.key`) };
    },
    [Symbol.asyncDispose]: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/** A running mutual-TLS proxy; `await using` stops it. */
export interface MtlsProxy extends AsyncDisposable {
  /** `tcp+tls://localhost:PORT`. */
  readonly url: string;
  /** The common names of the client certificates it accepted, in order. */
  readonly clients: readonly string[];
  /** TLS handshakes it refused (no certificate, or one it does not trust). */
  readonly refused: number;
}

/**
 * Listens on localhost with `server` as its certificate, accepts only
 * clients whose certificate `clientCa` issued, and forwards each accepted
 * connection to `target` (a Faktory started with `tls: true`) over TLS.
 */
export async function startMtlsProxy(
  target: FaktoryServer,
  server: KeyPair,
  clientCa: string,
): Promise<MtlsProxy> {
  const sockets = new Set<net.Socket>();
  const clients: string[] = [];
  let refused = 0;
  const listener = tls.createServer({
    ...server,
    ca: [clientCa],
    requestCert: true,
    rejectUnauthorized: true,
  }, (client) => {
    clients.push(String(client.getPeerCertificate().subject?.CN));
    const upstream = tls.connect({
      host: target.host,
      port: target.port,
      ca: target.caCert,
      servername: "localhost",
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  listener.on("tlsClientError", (_error, socket) => {
    refused++;
    socket.destroy();
  });
  // Where a client connecting to "localhost" goes first (Deno tries only that address).
  const host = await lookup("localhost").then((a) => a.address, () => "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, host, () => resolve());
  });
  const { port } = listener.address() as net.AddressInfo;
  return {
    url: `tcp+tls://localhost:${port}`,
    clients,
    get refused() {
      return refused;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}
