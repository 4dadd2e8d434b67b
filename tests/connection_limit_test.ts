/**
 * Faktory takes at most 2000 connections: the next one gets `+OK` to its
 * HELLO and then `-ERR too many connections: N`, and is closed
 * (tests/server_facts_test.ts). The library reports that as what it is, a
 * connection the server refused, with the server's words, whether the
 * error comes with the `+OK` or after it, while a command waits or not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, ConnectionError, silentLogger } from "../mod.ts";
import { useFaktory } from "./harness/use_faktory.ts";
import { fillConnections } from "./harness/wire.ts";

test("over the server's 2000 connections, a connect or its first command fails with a ConnectionError quoting the server", async () => {
  await using faktory = await useFaktory();
  const open = await fillConnections(faktory.server, faktory.client);
  try {
    for (let round = 0; round < 5; round++) {
      const outcome = await Client.connect({ url: faktory.server.url, logger: silentLogger })
        .then(async (client) => {
          try {
            return await client.info();
          } finally {
            await client.close().catch(() => {});
          }
        })
        .catch((e: unknown) => e);
      assert.ok(outcome instanceof ConnectionError, `round ${round}: ${String(outcome)}`);
      assert.match(outcome.message, /too many connections/, `round ${round}`);
      assert.ok(!outcome.message.includes("Reply without a command"), outcome.message);
    }
  } finally {
    for (const wire of open) wire.close();
  }
});
