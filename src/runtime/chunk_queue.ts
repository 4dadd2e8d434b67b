/**
 * The queue that turns pushed chunks (Node `data` events, Bun's `data`
 * handler) into the pulled reads of the `Socket` interface.
 *
 * @module
 */

/** A promise resolved with nothing, shared to spare an allocation per write. */
export const DONE: Promise<void> = Promise.resolve();

/**
 * Turns pushed chunks (Node `data` events, Bun's `data` handler) into pulled
 * reads. Above `highWaterMark` queued bytes it calls `pause` so the kernel's
 * buffers fill and TCP slows the sender; a read that drains it calls `resume`.
 *
 * @example
 * ```ts
 * import { ChunkQueue } from "./chunk_queue.ts";
 * const queue = new ChunkQueue(() => {}, () => {});
 * queue.push(new Uint8Array([1, 2]));
 * queue.end();
 * console.log(await queue.read(), await queue.read()); // Uint8Array(2) [ 1, 2 ] null
 * ```
 */
export class ChunkQueue {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #paused = false;
  #ended = false;
  #error: Error | undefined;
  #resolve: ((chunk: Uint8Array | null) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  readonly #pause: () => void;
  readonly #resume: () => void;
  readonly #highWaterMark: number;

  /** `pause`/`resume` stop and restart the source; 64 KiB are queued at most before pausing. */
  constructor(pause: () => void, resume: () => void, highWaterMark = 64 * 1024) {
    this.#pause = pause;
    this.#resume = resume;
    this.#highWaterMark = highWaterMark;
  }

  /** Hands `chunk` to a waiting read, or queues it. */
  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    const resolve = this.#resolve;
    if (resolve !== undefined) {
      this.#resolve = this.#reject = undefined;
      resolve(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (!this.#paused && this.#bytes >= this.#highWaterMark) {
      this.#paused = true;
      this.#pause();
    }
  }

  /** No more chunks: reads drain the queue, then get `null` (or reject with `error`). */
  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const resolve = this.#resolve, reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    if (error !== undefined) reject?.(error);
    else resolve?.(null);
  }

  /** Drops queued chunks and ends with `null`, as after a local close. */
  clear(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.end();
  }

  /** The next chunk, or `null` at the end. One read at a time. */
  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#bytes -= chunk.length;
      if (this.#paused && this.#bytes < this.#highWaterMark && !this.#ended) {
        this.#paused = false;
        this.#resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#ended) {
      return this.#error === undefined ? Promise.resolve(null) : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
}
