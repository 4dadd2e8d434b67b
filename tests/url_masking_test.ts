/**
 * No error, log line or CLI output shows any part of a URL's password,
 * whatever characters it holds and however the URL around it is malformed.
 * Property tests (fast-check, fixed seeds: a failure prints its seed and
 * path to replay) over random passwords and URL shapes, plus the CLI on a few
 * cases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import fc from "fast-check";
import { Client, silentLogger, ValidationError } from "../mod.ts";
import { envSettings, maskUrl, parseUrl } from "../src/settings.ts";
import { exitWithin, runtimeCommand, startChild } from "./harness/child.ts";

/** Characters that end or split parts of a URL, and percent signs. */
const AWKWARD = [..."@/:?#%[]\\ \t\r\n&=+;,$!'*()~\"<>^`{|}", "%40", "%2F", "%E0", "@@", "://"];

const password = fc.string({
  minLength: 4,
  maxLength: 24,
  unit: fc.oneof(
    fc.constantFrom(...AWKWARD),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
  ),
});

/** `encodeURIComponent`, or the raw text where it throws (a lone surrogate). */
function encoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);

/** A URL with `pw` in its userinfo, in a shape that may be malformed anywhere. */
const shapedUrl = fc.record({
  pw: password,
  encode: fc.boolean(),
  scheme: pick("tcp://", "tcp+tls://", "TCP://", "http://", "tcp:/", "tcp:", "", " tcp://", "x:"),
  user: pick(":", ":", "user:", "", "@:", ":@"),
  at: pick("@", "@", "@@", "@x@"),
  host: pick("127.0.0.1", "localhost", "[::1]", "", "ho st", "h@st", "/", ":"),
  port: pick(":7419", ":7419", "", ":", ":abc", ":99999", ":-1", ":7419:7419"),
  tail: pick("", "", "/ns.", "/a b", "?x=1", "#f", "/%E0", "/x@y", "/:", "\n"),
}).map((r) => ({
  ...r,
  url: `${r.scheme}${r.user}${r.encode ? encoded(r.pw) : r.pw}${r.at}${r.host}${r.port}${r.tail}`,
}));

/**
 * The text of every message the checks below can produce, from URLs that
 * hold no password: a 4-character window of a password found in it, or in
 * the URL after its last "@", proves nothing, so only other windows count.
 */
const STATIC = (() => {
  const texts: string[] = [];
  const bad = [
    "localhost:7419",
    "http://localhost:7419",
    "tcp://:7419",
    "tcp://:pw@localhost",
    "tcp://:pw@localhost:port",
    "tcp://:pw@localhost:70000",
    "tcp://user:pw@localhost:7419",
    "tcp://:p/w@localhost:7419",
    "tcp://:pw@localhost:7419/a b",
    "tcp://:pw@localhost:7419?q",
    "tcp://:pw@ho st:7419",
    "tcp://:pw@localhost:7419/%E0",
  ];
  for (const url of bad) {
    texts.push(maskUrl(url));
    for (const check of [() => parseUrl(url), () => envSettings(() => url)]) {
      try {
        check();
      } catch (e) {
        texts.push((e as Error).message);
      }
    }
  }
  texts.push("FAKTORY_URL FAKTORY_PROVIDER Could not connect to  ECONNREFUSED is Faktory running");
  return texts.join("\n");
})();

/** The password's 4-character windows that `text` shows and nothing public explains. */
function leaked(text: string, pw: string, url: string): string[] {
  const visible = STATIC + url.slice(url.lastIndexOf("@"));
  const windows: string[] = [];
  for (const secret of new Set([pw, encoded(pw)])) {
    for (let i = 0; i + 4 <= secret.length; i++) {
      const w = secret.slice(i, i + 4);
      if (text.includes(w) && !visible.includes(w)) windows.push(w);
    }
  }
  return windows;
}

function assertNoLeak(text: string, pw: string, url: string, where: string): void {
  const found = leaked(text, pw, url);
  assert.deepEqual(found, [], `${where} shows ${JSON.stringify(found)} of ${JSON.stringify(pw)}`);
}

/** The message of what `f` throws, which must be a ValidationError; `undefined` if it returns. */
function validationMessage(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ValidationError, `not a ValidationError: ${e}`);
    return e.message;
  }
}

test("url masking: maskUrl, parseUrl and envSettings never show the password (property)", () => {
  fc.assert(
    fc.property(shapedUrl, ({ pw, url }) => {
      assertNoLeak(maskUrl(url), pw, url, "maskUrl");
      const message = validationMessage(() => parseUrl(url));
      if (message !== undefined) assertNoLeak(message, pw, url, "parseUrl");
      const env = validationMessage(() => envSettings((name) => ({ FAKTORY_URL: url })[name]));
      if (env !== undefined) assertNoLeak(env, pw, url, "FAKTORY_URL");
      const provider = validationMessage(() =>
        envSettings((name) => ({ FAKTORY_PROVIDER: url })[name])
      );
      if (provider !== undefined) assertNoLeak(provider, pw, url, "FAKTORY_PROVIDER");
    }),
    { seed: 1207, numRuns: 3_000 },
  );
});

test("url masking: a well-formed URL gives back the password it holds (property)", () => {
  fc.assert(
    fc.property(password, pick("tcp://", "tcp+tls://"), (pw, scheme) => {
      const url = `${scheme}:${encodeURIComponent(pw.replace(/[\uD800-\uDFFF]/g, "x"))}@h:7419`;
      assert.equal(parseUrl(url).password, decodeURIComponent(url.slice(scheme.length + 1, -7)));
      assert.equal(maskUrl(url), `${scheme}:***@h:7419`);
    }),
    { seed: 1208, numRuns: 500 },
  );
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("url masking: Client.connect errors never show the password (property)", async () => {
  const port = await closedPort();
  await fc.assert(
    fc.asyncProperty(shapedUrl, async ({ pw, url }) => {
      // The same shapes, pointed at a closed port when the host part is whole.
      const target = url.replace(/127\.0\.0\.1:7419(?=[^@]*$)/, `127.0.0.1:${port}`);
      const error = await Client.connect({
        url: target,
        logger: silentLogger,
        connectTimeout: 2000,
      })
        .then((client) => client.close().then(() => assert.fail("connected")), (e: Error) => e);
      assertNoLeak(`${error.name}: ${error.message}`, pw, target, "Client.connect");
    }),
    { seed: 1209, numRuns: 300 },
  );
});

test("url masking: the CLI never prints the password of a bad or unreachable URL", async () => {
  const port = await closedPort();
  const pw = "Wr0ngS3cr3t";
  const urls = [
    `tcp://:se/${pw}@127.0.0.1:${port}`, // the examples of issue 12
    `tcp://:se@${pw}@127.0.0.1:${port}`,
    `tcp://:${pw}@127.0.0.1`,
    `tcp://:${pw}@@`,
    `http://:${pw}@127.0.0.1:${port}`,
    `tcp:/:${pw}@127.0.0.1:${port}`,
    `tcp://:${pw}@127.0.0.1:${port}/a b`,
    `tcp://:${pw}@127.0.0.1:${port}`, // valid, nothing listens
  ];
  const [command, base] = runtimeCommand("cli.ts");
  for (const url of urls) {
    for (const [args, env] of [[["--url", url]], [[], { FAKTORY_URL: url }]] as const) {
      const child = startChild(command, [...base, "info", ...args], {
        FAKTORY_URL: undefined,
        FAKTORY_PROVIDER: undefined,
        NO_COLOR: "1",
        ...env,
      });
      const exit = await exitWithin(child, 30_000);
      const output = `${child.lines.join("\n")}\n${child.stderr()}`;
      assert.ok(exit.code === 1 || exit.code === 2, child.output());
      assert.match(output, /Invalid (Faktory URL|FAKTORY_URL|url)|Could not connect/);
      assertNoLeak(output, pw, url, `the CLI (${url})`);
    }
  }
});
