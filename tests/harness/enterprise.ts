/**
 * Test harness: a Faktory Enterprise double in front of a real (open-source)
 * Faktory, for what the real server cannot do: speak BATCH and TRACK. It is
 * a proxy: every other command goes to the real server and its reply back,
 * while BATCH and TRACK commands are answered here, in order with the
 * replies of the same connection, and recorded. On a batch's first `BATCH
 * COMMIT` it pushes the batch's callbacks to the real server with
 * `custom._bid` set, as Faktory Enterprise does once a batch is done (here at
 * once: the double does not follow the batch's jobs). Uses `node:` builtins and the client under test
 * only to push those callbacks.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as net from "node:net";
import { Client, type JobPayload, silentLogger } from "../../mod.ts";
import type { FaktoryServer } from "./faktory.ts";

/** One Enterprise command the double answered. */
export interface EnterpriseCommand {
  /** `BATCH NEW`, `BATCH OPEN`, `BATCH COMMIT`, `BATCH STATUS`, `TRACK SET` or `TRACK GET`. */
  readonly verb: string;
  /** Its JSON payload (NEW, TRACK SET) or its word (a bid or jid), as sent. */
  readonly arg: string;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

/** A running double; `await using` stops it. */
export interface EnterpriseDouble extends AsyncDisposable {
  /** The real server's URL, pointing at the double. */
  readonly url: string;
  /** Every BATCH and TRACK command, in arrival order. */
  readonly commands: readonly EnterpriseCommand[];
  /** The parsed payloads of `TRACK SET`. */
  readonly tracked: () => Record<string, unknown>[];
}

const OK = "+OK\r\n";
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

/** The length of the first complete RESP reply in `buffer`, or -1. */
function replyLength(buffer: Buffer): number {
  const end = buffer.indexOf("\r\n");
  if (end < 0) return -1;
  if (buffer[0] !== 0x24 /* $ */) return end + 2;
  const size = Number(buffer.subarray(1, end).toString());
  if (size < 0) return end + 2;
  return buffer.length >= end + 2 + size + 2 ? end + 2 + size + 2 : -1;
}

/** Starts a double in front of `target` (a server without a password). */
export async function startEnterpriseDouble(target: FaktoryServer): Promise<EnterpriseDouble> {
  const commands: EnterpriseCommand[] = [];
  const batches = new Map<string, Record<string, JobPayload>>();
  const committed = new Set<string>();
  const sockets = new Set<net.Socket>();
  const pusher = await Client.connect({ url: target.url, logger: silentLogger });
  let bids = 0;

  /** The reply to an Enterprise command, or undefined for the real server's. */
  async function answer(line: string): Promise<string | undefined> {
    const match = /^(BATCH (?:NEW|OPEN|COMMIT|STATUS)|TRACK (?:SET|GET)) (.*)$/.exec(line);
    if (match === null) return undefined;
    const [, verb, arg] = match as unknown as [string, string, string];
    commands.push({ verb, arg, at: Date.now() });
    switch (verb) {
      case "BATCH NEW": {
        const bid = `b-double-${++bids}`;
        const { success, complete } = JSON.parse(arg);
        batches.set(bid, { ...(success && { success }), ...(complete && { complete }) });
        return bulk(bid);
      }
      case "BATCH OPEN":
        return batches.has(arg) ? bulk(arg) : "-ERR No such batch\r\n";
      case "BATCH COMMIT":
        if (!batches.has(arg)) return "-ERR No such batch\r\n";
        if (!committed.has(arg)) {
          committed.add(arg);
          for (const job of Object.values(batches.get(arg)!)) {
            await pusher.push({ ...job, custom: { ...job.custom, _bid: arg } });
          }
        }
        return OK;
      case "BATCH STATUS":
        return bulk(JSON.stringify({ bid: arg, total: 0, pending: 0, failed: 0 }));
      case "TRACK SET":
        return OK;
      default: // TRACK GET
        return bulk(JSON.stringify({ jid: arg, state: "working" }));
    }
  }

  const listener = net.createServer((client) => {
    const server = net.connect({ host: target.host, port: target.port });
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on("error", () => (client.destroy(), server.destroy()));
      socket.on("close", () => (client.destroy(), server.destroy(), sockets.delete(socket)));
    }
    // What each command's reply is, in order: the server's (undefined) or ours.
    // The first entry stands for the server's greeting.
    const replies: (Promise<string | undefined>)[] = [Promise.resolve(undefined)];
    let fromServer = Buffer.alloc(0);
    let fromClient = Buffer.alloc(0);
    let writing = Promise.resolve();
    const serverReplies: Buffer[] = [];
    /** Writes the replies that are due, in command order. */
    const flush = () => {
      writing = writing.then(async () => {
        while (replies.length > 0) {
          const ours = await replies[0]!;
          if (ours === undefined && serverReplies.length === 0) return;
          replies.shift();
          client.write(ours ?? serverReplies.shift()!);
        }
      });
    };
    server.on("data", (chunk: Buffer) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      for (let n = replyLength(fromServer); n > 0; n = replyLength(fromServer)) {
        serverReplies.push(fromServer.subarray(0, n));
        fromServer = fromServer.subarray(n);
      }
      flush();
    });
    client.on("data", (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      for (let end = fromClient.indexOf("\r\n"); end >= 0; end = fromClient.indexOf("\r\n")) {
        const line = fromClient.subarray(0, end).toString("utf8");
        fromClient = fromClient.subarray(end + 2);
        const ours = answer(line);
        replies.push(ours);
        void ours.then((reply) => {
          if (reply === undefined) server.write(`${line}\r\n`);
        });
      }
      flush();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as net.AddressInfo;
  return {
    url: target.url.replace(`${target.host}:${target.port}`, `127.0.0.1:${port}`),
    commands,
    tracked: () => commands.filter((c) => c.verb === "TRACK SET").map((c) => JSON.parse(c.arg)),
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
      await pusher.close();
    },
  };
}
