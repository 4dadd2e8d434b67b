/**
 * A counting semaphore: at most `size` holders at once, the rest wait in
 * order. Used for the worker's job slots, and per server for password
 * handshakes.
 *
 * @module
 */

/** A fixed number of slots, taken and given back. */
export class Slots {
  #free: number;
  readonly #waiting: Waiter[] = [];
  /**
   * Signals with our abort listener on them: one listener per signal, added
   * at its first wait, instead of an add and a remove per wait (about 4 µs
   * on Node, once per job in a busy worker's fetch loop).
   */
  readonly #watched = new WeakSet<AbortSignal>();

  /** Creates `size` free slots. */
  constructor(size: number) {
    this.#free = size;
  }

  /** Slots not taken. */
  get free(): number {
    return this.#free;
  }

  /**
   * Resolves once a slot is ours; rejects with the signal's reason if it
   * aborts first (and then no slot is taken).
   */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject, signal });
      if (signal !== undefined && !this.#watched.has(signal)) {
        this.#watched.add(signal);
        signal.addEventListener("abort", () => this.#abandon(signal), { once: true });
      }
    });
  }

  /**
   * Gives a slot back: to the waiter that waits with `to` if there is one
   * (the worker hands a finished job's slot to the fetcher whose connection
   * carries its ACK), else to the longest waiter.
   */
  give(to?: AbortSignal): void {
    const i = to === undefined ? 0 : Math.max(0, this.#waiting.findIndex((w) => w.signal === to));
    const next = i === 0 ? this.#waiting.shift() : this.#waiting.splice(i, 1)[0];
    if (next) next.resolve();
    else this.#free++;
  }

  /** Rejects the waits of an aborted signal; they hold no slot. */
  #abandon(signal: AbortSignal): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const waiter = this.#waiting[i]!;
      if (waiter.signal === signal) {
        this.#waiting.splice(i, 1);
        waiter.reject(signal.reason);
      }
    }
  }
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  readonly signal: AbortSignal | undefined;
}

/** {@linkcode Slots} per key, made at a key's first use and dropped once it is idle. */
export class KeyedSlots {
  readonly #size: number;
  readonly #byKey = new Map<string, { slots: Slots; users: number }>();

  /** Creates `size` slots for each key. */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Resolves once a slot of `key` is ours, with the function that gives it
   * back; rejects with the signal's reason if it aborts first.
   */
  async take(key: string, signal?: AbortSignal): Promise<() => void> {
    const entry = this.#byKey.get(key) ?? { slots: new Slots(this.#size), users: 0 };
    this.#byKey.set(key, entry);
    entry.users++;
    const leave = () => {
      if (--entry.users === 0) this.#byKey.delete(key);
    };
    try {
      await entry.slots.take(signal);
    } catch (e) {
      leave();
      throw e;
    }
    return () => {
      entry.slots.give();
      leave();
    };
  }
}
