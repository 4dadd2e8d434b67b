import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import { startFaktory } from "./harness/faktory.ts";

/** The first line the server sends, read over a raw socket. */
function firstLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf("\r\n");
      if (end >= 0) {
        resolve(buffer.slice(0, end));
        socket.destroy();
      }
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`closed after ${JSON.stringify(buffer)}`)));
  });
}

/** The JSON of a `+HI {...}` greeting. */
function hi(line: string): Record<string, unknown> {
  assert.match(line, /^\+HI \{/);
  return JSON.parse(line.slice(4));
}

async function assertClosed(host: string, port: number): Promise<void> {
  await assert.rejects(firstLine(net.connect({ host, port })), { code: "ECONNREFUSED" });
}

test("plain server greets with +HI and is gone after await using", async () => {
  let port = 0;
  let dir = "";
  {
    await using server = await startFaktory();
    ({ port, dir } = server);
    assert.equal(server.host, "127.0.0.1");
    assert.equal(server.url, `tcp://127.0.0.1:${port}`);
    assert.equal(server.password, undefined);
    assert.equal(server.caCert, undefined);
    const greeting = hi(await firstLine(net.connect({ host: server.host, port })));
    assert.equal(greeting["v"], 2);
    assert.equal(greeting["s"], undefined);
  }
  await assertClosed("127.0.0.1", port);
  assert.equal(fs.existsSync(dir), false);
});

test("password server sends iterations and salt", async () => {
  await using server = await startFaktory({ password: "s3cr3t pw/" });
  assert.equal(server.password, "s3cr3t pw/");
  assert.equal(server.url, `tcp://:s3cr3t%20pw%2F@127.0.0.1:${server.port}`);
  const greeting = hi(await firstLine(net.connect({ host: server.host, port: server.port })));
  assert.equal(greeting["v"], 2);
  assert.equal(typeof greeting["i"], "number");
  assert.equal(typeof greeting["s"], "string");
});

test("TLS server verifies against caCert for localhost", async () => {
  let port = 0;
  {
    await using server = await startFaktory({ tls: true });
    port = server.port;
    assert.equal(server.host, "localhost");
    assert.equal(server.url, `tcp+tls://localhost:${port}`);
    assert.match(server.caCert ?? "", /^-----BEGIN CERTIFICATE-----/);
    const ca = server.caCert ?? "";
    const socket = tls.connect({ host: "localhost", port, ca, servername: "localhost" });
    assert.equal(hi(await firstLine(socket))["v"], 2);
    // Without the CA the certificate must not verify.
    await assert.rejects(firstLine(tls.connect({ host: "localhost", port })));
  }
  await assertClosed("localhost", port);
});

test("kill, then restart on the same port", async () => {
  await using server = await startFaktory();
  const { host, port } = server;
  await server.kill();
  await assertClosed(host, port);
  await server.restart();
  assert.equal(server.port, port);
  hi(await firstLine(net.connect({ host, port })));
  await server.stop();
  await server.stop(); // idempotent; `await using` calls it a third time
});
