/**
 * Self-signed server certificates given in `caCerts`, as src/runtime/types.ts
 * documents them: accepted on every runtime whether marked CA:TRUE (the
 * default of `openssl req -x509`) or CA:FALSE, and no other is trusted.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Client, ConnectionError, silentLogger } from "../mod.ts";
import { afterHello, type HostileServer, startHostile } from "./harness/hostile.ts";

const dir = mkdtempSync(path.join(tmpdir(), "fk-ca-"));

/** A self-signed certificate for localhost, with a basicConstraints of `ca`. */
function selfSigned(name: string, ca: "CA:TRUE" | "CA:FALSE") {
  const key = path.join(dir, `${name}.key`), cert = path.join(dir, `${name}.pem`);
  execFileSync("openssl", [
    "req",
    "-x509",
    ...["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"],
    ...["-subj", "/CN=localhost", "-keyout", key, "-out", cert],
    ...["-addext", `basicConstraints=critical,${ca}`],
    ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
  ], { stdio: "pipe" });
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

describe("caCerts", () => {
  const servers: HostileServer[] = [];
  let other: string;

  before(() => {
    other = selfSigned("other", "CA:TRUE").cert;
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const ca of ["CA:TRUE", "CA:FALSE"] as const) {
    test(`(test double: a TLS server) a self-signed ${ca} certificate is trusted when given, and only then`, async () => {
      const pair = selfSigned(ca.replace(":", "-"), ca);
      const server = await startHostile(afterHello(() => {}), { tls: pair });
      servers.push(server);
      const connect = (caCerts: string[]) =>
        Client.connect({ url: server.url(), tls: { caCerts }, logger: silentLogger });
      const client = await connect([pair.cert]);
      await client.close();
      await assert.rejects(connect([other]), (e: Error) => {
        assert.ok(e instanceof ConnectionError, String(e));
        assert.match(e.message, /TLS handshake with 127\.0\.0\.1:\d+ failed/);
        return true;
      });
      await assert.rejects(connect([]), /TLS handshake/);
    });
  }
});
