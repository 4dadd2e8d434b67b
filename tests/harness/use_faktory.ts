/**
 * Test harness: a real Faktory server and a client on it, for one test, used
 * the way the library is, with `await using`:
 *
 * ```ts
 * test("push", async () => {
 *   await using faktory = await useFaktory();
 *   await faktory.client.push(job);
 *   assert.equal(await faktory.queueSize("default"), 1);
 * }); // workers started here stop, the client closes, the server stops
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client, silentLogger, Worker, type WorkerOptions } from "../../mod.ts";
import { type FaktoryServer, type ServerOptions, startFaktory } from "./faktory.ts";

/** A worker started by {@linkcode Faktory.startWorker}; `await using` stops it. */
export type RunningWorker = Worker & { readonly running: Promise<void> };

/** A server, a client connected to it, and helpers; `await using` cleans up all. */
export interface Faktory extends AsyncDisposable {
  readonly server: FaktoryServer;
  readonly client: Client;
  /** The server's URL (with its password, if any). */
  readonly url: string;
  /** Jobs waiting in `queue`, from INFO. */
  queueSize(queue: string): Promise<number>;
  /**
   * A worker on this server, set up by `setup` (register handlers there) and
   * running. Test defaults: no logging, a heartbeat every second, and a stop
   * that does not wait out an idle FETCH (`abandonFetchOnStop`: nothing is
   * pushed while a test stops its worker). Stopped with `await using`, or at
   * the latest when this scope ends.
   */
  startWorker(options?: WorkerOptions, setup?: (worker: Worker) => void): RunningWorker;
}

/**
 * Starts a server (see {@linkcode startFaktory} for the options) and connects
 * a client. Checks that the server is the version the run expects: INFO's
 * `server.faktory_version` must be the binary's version, which the harness
 * checks against `FAKTORY_EXPECT_VERSION`.
 */
export async function useFaktory(options: ServerOptions = {}): Promise<Faktory> {
  const server = await startFaktory(options);
  const workers = new Set<RunningWorker>();
  let client: Client;
  try {
    client = await Client.connect({
      url: server.url,
      logger: silentLogger,
      ...(server.caCert === undefined ? {} : { tls: { caCerts: [server.caCert] } }),
    });
    const info = await client.info();
    assert.equal(info.server.faktory_version, server.version, "the server is the expected one");
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    client,
    url: server.url,
    async queueSize(queue) {
      return (await client.info()).faktory.queues[queue] ?? 0;
    },
    startWorker(workerOptions = {}, setup = () => {}) {
      const worker = new Worker({
        url: server.url,
        logger: silentLogger,
        heartbeatInterval: 1_000,
        abandonFetchOnStop: true,
        ...workerOptions,
      });
      setup(worker);
      const running = worker.run();
      const started: RunningWorker = Object.assign(worker, {
        running,
        async [Symbol.asyncDispose]() {
          workers.delete(started);
          await worker.stop();
          await running;
        },
      });
      workers.add(started);
      return started;
    },
    async [Symbol.asyncDispose]() {
      try {
        await Promise.all([...workers].map((w) => w[Symbol.asyncDispose]()));
        await client.close();
      } finally {
        await server.stop();
      }
    },
  };
}
