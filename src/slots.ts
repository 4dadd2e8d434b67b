/**
 * A counting semaphore: at most `size` holders at once, the rest wait in
 * order. Used for the worker's job slots and for password handshakes.
 *
 * @module
 */

/** A fixed number of slots, taken and given back. */
export class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

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
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting.splice(this.#waiting.indexOf(grant), 1);
        reject(signal!.reason);
      };
      this.#waiting.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Gives a slot back, to the longest waiter if there is one. */
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
