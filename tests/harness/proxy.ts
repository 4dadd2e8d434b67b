/**
 * Test harness: a TCP proxy in front of a real server, to inject network
 * faults. It listens on a free 127.0.0.1 port and forwards to a loopback
 * target. Faults, all stoppable: cut every connection now, cut the next
 * server reply after N bytes, stall (stop forwarding until resumed), slow
 * (delay every chunk), and cut connections at random points with a seeded
 * RNG. Each direction of a connection forwards one chunk at a time with its
 * source paused meanwhile, so the proxy holds at most two chunks per
 * connection whatever the fault. Uses only `node:` builtins (Deno, Bun, Node).
 *
 * @module
 */
import * as net from "node:net";

/** What the proxy forwards to: a server on a loopback address. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
  /** The server's URL; the proxy's {@linkcode Proxy.url} is this with the proxy's address. */
  readonly url?: string;
}

/** Random cuts: each chunk, either way, ends its connection with chance `cutChance`. */
export interface Chaos {
  /** Seed of the RNG, so a failing run can be replayed. */
  readonly seed: number;
  /** Chance per chunk, 0 to 1. */
  readonly cutChance: number;
}

/** Counters since the proxy started. */
export interface ProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Connections ended by an injected fault (not by either end). */
  cuts: number;
  /** Connections held by {@linkcode Proxy.limit} now, not yet connected to the server. */
  held: number;
}

/** A running proxy; `await using` stops it. */
export interface Proxy extends AsyncDisposable {
  readonly port: number;
  /** The target's URL (password and all) pointing at the proxy, or `tcp://127.0.0.1:PORT`. */
  readonly url: string;
  readonly stats: Readonly<ProxyStats>;
  /** Ends every open connection now; returns how many. */
  cutAll(): number;
  /** The next chunk from the server, on any connection, is forwarded up to `bytes` bytes, then that connection is cut. */
  cutNextReply(bytes: number): void;
  /** Stops forwarding, both ways, on every connection (new ones too) until {@linkcode Proxy.resume}. */
  stall(): void;
  /** Forwards again after {@linkcode Proxy.stall}. */
  resume(): void;
  /** Delays every chunk by `ms` (0: no delay). */
  slow(ms: number): void;
  /** Cuts connections at random (`undefined`: stop). */
  chaos(options: Chaos | undefined): void;
  /**
   * Of the connections accepted from now on, lets the first `admit` through;
   * the others are held unconnected to the server (they get no greeting)
   * until {@linkcode Proxy.admitAll}, or with `refuse` are cut at once.
   */
  limit(admit: number, mode: "hold" | "refuse"): void;
  /** Ends {@linkcode Proxy.limit}: held connections go through, and new ones. */
  admitAll(): void;
  /** Calls `listener` with each chunk a client sends, as it arrives (`undefined`: stop). */
  tap(listener: ((chunk: Uint8Array) => void) | undefined): void;
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

/** mulberry32: small, fast, good enough to pick fault points reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One proxied connection: the client's socket and ours to the server. */
class Link {
  closed = false;
  /** Sockets whose peer ended in order: their last bytes are still being forwarded. */
  readonly ended = new Set<net.Socket>();

  constructor(
    readonly client: net.Socket,
    readonly server: net.Socket,
    private readonly onClose: (link: Link) => void,
  ) {}

  /** Ends both sides: `to` in order after `last` (a cut mid-reply), the other at once. */
  close(to?: net.Socket, last?: Uint8Array): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [this.client, this.server]) {
      if (socket === to) socket.end(last ?? new Uint8Array());
      else socket.destroy();
    }
    this.onClose(this);
  }
}

/** Starts a proxy to `target` on a free 127.0.0.1 port. */
export async function startProxy(target: ProxyTarget): Promise<Proxy> {
  if (!LOOPBACK.has(target.host)) throw new Error(`proxy: ${target.host} is not loopback`);
  const links = new Set<Link>();
  const stats: ProxyStats = { connections: 0, open: 0, cuts: 0, held: 0 };
  let limit: { admit: number; mode: "hold" | "refuse" } | undefined;
  const held: (() => void)[] = [];
  let slowMs = 0;
  let cutReply: number | undefined;
  let random: (() => number) | undefined;
  let cutChance = 0;
  let stalled = false;
  let release = () => {};
  let resumed = Promise.resolve();
  let stopped = false;
  let tapped: ((chunk: Uint8Array) => void) | undefined;

  const cut = (link: Link, to?: net.Socket, last?: Uint8Array) => {
    if (link.closed) return;
    stats.cuts++;
    link.close(to, last);
  };

  /** Forwards one chunk, applying the faults; resolves when the next may come. */
  async function deliver(link: Link, chunk: Uint8Array, fromServer: boolean): Promise<void> {
    while (stalled && !link.closed) await resumed;
    if (slowMs > 0) await delay(slowMs);
    if (link.closed) return;
    const to = fromServer ? link.client : link.server;
    if (fromServer && cutReply !== undefined) {
      const bytes = Math.min(cutReply, chunk.length);
      cutReply = undefined;
      return cut(link, to, chunk.subarray(0, bytes));
    }
    if (random !== undefined && random() < cutChance) {
      return cut(link, to, chunk.subarray(0, Math.floor(random() * chunk.length)));
    }
    if (!to.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          to.off("drain", done).off("close", done);
          resolve();
        };
        to.on("drain", done).on("close", done);
      });
    }
  }

  /**
   * Pumps `from` to the other side one chunk at a time, `from` paused
   * meanwhile; an orderly end is passed on after the last chunk.
   */
  function pump(link: Link, from: net.Socket, fromServer: boolean): void {
    const to = fromServer ? link.client : link.server;
    const queue: (Uint8Array | null)[] = []; // null: `from` ended
    let busy = false;
    const next = async () => {
      busy = true;
      while (queue.length > 0 && !link.closed) {
        const chunk = queue.shift()!;
        if (chunk === null) return link.close(to);
        await deliver(link, chunk, fromServer);
      }
      busy = false;
      if (!link.closed) from.resume();
    };
    const push = (chunk: Uint8Array | null) => {
      queue.push(chunk); // more than one only if a runtime emits after pause()
      if (!busy) void next();
    };
    from.on("data", (chunk: Uint8Array) => {
      if (!fromServer) tapped?.(chunk);
      from.pause();
      push(chunk);
    });
    from.on("end", () => {
      link.ended.add(from);
      push(null);
    });
  }

  const listener = net.createServer((client) => {
    stats.connections++;
    if (limit !== undefined && limit.admit-- <= 0) {
      if (limit.mode === "refuse") {
        stats.cuts++;
        return void client.destroy();
      }
      stats.held++;
      client.on("error", () => {});
      return void held.push(() => {
        stats.held--;
        if (!client.destroyed) connectLink(client);
      });
    }
    connectLink(client);
  });
  function connectLink(client: net.Socket): void {
    stats.open++;
    const server = net.connect({ host: target.host, port: target.port });
    const link = new Link(client, server, (l) => {
      links.delete(l);
      stats.open--;
    });
    links.add(link);
    if (stopped) return link.close();
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      socket.on("error", () => link.close());
      // After an orderly end the pump closes the link, once the last bytes are through.
      socket.on("close", () => link.ended.has(socket) || link.close());
    }
    // The client's bytes wait (unread, so buffered by the socket) until the server is there.
    server.once("connect", () => {
      pump(link, server, true);
      pump(link, client, false);
    });
  }
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (listener.address() as net.AddressInfo).port;
  const url = target.url?.replace(`${target.host}:${target.port}`, `127.0.0.1:${port}`) ??
    `tcp://127.0.0.1:${port}`;

  const proxy: Proxy = {
    port,
    url,
    stats,
    cutAll() {
      const all = [...links];
      for (const link of all) cut(link);
      return all.length;
    },
    cutNextReply(bytes) {
      cutReply = bytes;
    },
    stall() {
      if (stalled) return;
      stalled = true;
      resumed = new Promise((resolve) => (release = resolve));
    },
    resume() {
      stalled = false;
      release();
    },
    slow(ms) {
      slowMs = ms;
    },
    chaos(options) {
      random = options === undefined ? undefined : seededRandom(options.seed);
      cutChance = options?.cutChance ?? 0;
    },
    limit(admit, mode) {
      limit = { admit, mode };
    },
    admitAll() {
      limit = undefined;
      for (const go of held.splice(0)) go();
    },
    tap(listener) {
      tapped = listener;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      slowMs = 0;
      random = undefined;
      proxy.resume();
      proxy.admitAll();
      const closed = new Promise((resolve) => listener.close(resolve));
      for (const link of [...links]) link.close();
      await closed;
    },
    [Symbol.asyncDispose]() {
      return proxy.stop();
    },
  };
  return proxy;
}
