/**
 * A stand-in for the app's database client, in memory: like a real pool it
 * connects, closes, and refuses queries while closed. The example app opens
 * it in the worker's startup hook and closes it in the shutdown hook.
 */
import process from "node:process";

/** An order row. */
export interface Order {
  readonly id: number;
  readonly email: string;
  readonly cents: number;
}

const say = (line: string) => void process.stdout.write(`${line}\n`);

export class Database {
  readonly #orders = new Map<number, Order>();
  #connected = false;

  constructor(readonly url: string) {}

  async connect(): Promise<void> {
    await Promise.resolve(); // a real client would open its pool here
    this.#connected = true;
    say(`database connected (${this.url})`);
  }

  async close(): Promise<void> {
    await Promise.resolve();
    this.#connected = false;
    say("database closed");
  }

  /** The rows of an uploaded file: here three orders made up from its name. */
  async readFile(fileId: string, signal?: AbortSignal): Promise<Omit<Order, "id">[]> {
    this.#check();
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 10));
    return [1, 2, 3].map((n) => ({
      email: `buyer${n}@example.com`,
      cents: n * 1000 + fileId.length,
    }));
  }

  async insertOrder(row: Omit<Order, "id">): Promise<number> {
    this.#check();
    await Promise.resolve();
    const id = this.#orders.size + 1;
    this.#orders.set(id, { id, ...row });
    return id;
  }

  async order(id: number): Promise<Order> {
    this.#check();
    await Promise.resolve();
    const order = this.#orders.get(id);
    if (order === undefined) throw new RangeError(`No order ${id}`);
    return order;
  }

  #check(): void {
    if (!this.#connected) throw new Error("The database is not connected");
  }
}
