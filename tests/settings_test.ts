import { test } from "node:test";
import assert from "node:assert/strict";
import { ValidationError } from "../mod.ts";
import { envSettings, maskUrl, parseUrl } from "../src/settings.ts";

test("settings: URLs with TLS, password and namespace", () => {
  assert.deepEqual(parseUrl("tcp://localhost:7419"), {
    hostname: "localhost",
    port: 7419,
    tls: false,
    password: undefined,
    namespace: undefined,
  });
  assert.deepEqual(parseUrl("tcp+tls://:s3cr%40t@faktory.example:17419/app."), {
    hostname: "faktory.example",
    port: 17419,
    tls: true,
    password: "s3cr@t",
    namespace: "app.",
  });
  assert.equal(parseUrl("tcp://[::1]:7419").hostname, "::1");
});

test("settings: bad URLs say what is wrong and never show the password", () => {
  const cases: [string, RegExp][] = [
    ["http://localhost:7419", /unknown scheme "http"/],
    ["localhost:7419", /no scheme/],
    ["tcp://:hunter2@localhost", /no port/],
    ["tcp://:hunter2@localhost:port", /port "port" is not a number/],
    ["tcp://:hunter2@localhost:70000", /1-65535/],
    ["tcp://:hunter2@localhost:7419/a b", /namespace/],
    ["tcp://:7419", /no host/],
  ];
  for (const [url, why] of cases) {
    assert.throws(() => parseUrl(url), (e: Error) => {
      assert.ok(e instanceof ValidationError, url);
      assert.match(e.message, why);
      assert.ok(!e.message.includes("hunter2"), e.message);
      return true;
    });
  }
});

test("settings: maskUrl hides the password", () => {
  assert.equal(maskUrl("tcp://:secret@localhost:7419"), "tcp://:***@localhost:7419");
  assert.equal(maskUrl("tcp://localhost:7419"), "tcp://localhost:7419");
});

test("settings: envSettings follows FAKTORY_PROVIDER like faktory_worker_haskell", () => {
  const env = (vars: Record<string, string>) => envSettings((name) => vars[name]);
  assert.deepEqual(env({}), {
    url: "tcp://localhost:7419",
    queue: "default",
    workerId: undefined,
    poolSize: undefined,
  });
  assert.equal(env({ FAKTORY_URL: "tcp://a:1" }).url, "tcp://a:1");
  assert.equal(env({ FAKTORY_PROVIDER: "OTHER_URL", OTHER_URL: "tcp://b:2" }).url, "tcp://b:2");
  const full = env({ FAKTORY_QUEUE: "mail", FAKTORY_WORKER_ID: "w1", FAKTORY_POOL_SIZE: "3" });
  assert.deepEqual([full.queue, full.workerId, full.poolSize], ["mail", "w1", 3]);
  assert.throws(() => env({ FAKTORY_PROVIDER: "lower-case" }), /FAKTORY_PROVIDER/);
  assert.throws(() => env({ FAKTORY_URL: "tcp://:pw@x" }), (e: Error) => {
    assert.match(e.message, /^FAKTORY_URL: .*no port/);
    assert.ok(!e.message.includes(":pw@"));
    return true;
  });
  assert.throws(() => env({ FAKTORY_QUEUE: "a b" }), /FAKTORY_QUEUE/);
  assert.throws(() => env({ FAKTORY_POOL_SIZE: "0" }), /FAKTORY_POOL_SIZE/);
});
