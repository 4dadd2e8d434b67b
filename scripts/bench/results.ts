/**
 * What scripts/bench/measure.ts measures and scripts/bench/render.ts renders:
 * the clients, the scenarios, and the shape of results.json.
 *
 * @module
 */

export const CLIENT_IDS = [
  "ours-deno",
  "ours-bun",
  "ours-node",
  "floor-deno",
  "floor-bun",
  "floor-node",
  "go",
  "faktory-worker",
] as const;
export type ClientId = typeof CLIENT_IDS[number];

/** This library's runs, and the floor (scripts/bench/floor.mjs) of each runtime. */
export const RUNTIMES = [
  { ours: "ours-deno", floor: "floor-deno", name: "Deno" },
  { ours: "ours-bun", floor: "floor-bun", name: "Bun" },
  { ours: "ours-node", floor: "floor-node", name: "Node" },
] as const satisfies readonly { ours: ClientId; floor: ClientId; name: string }[];

/**
 * Connections of the floor's PUSH, 50 concurrent: as many as the library's
 * default Producer pool grows to under 50 callers (about 13: it adds one
 * while calls queue 4 deep on every connection, src/producer.ts), so that
 * both run one topology.
 */
export const FLOOR_PUSH_CONNECTIONS = 13;

/** How each client is named and drawn. */
export const CLIENT_STYLE: Record<ClientId, { readonly label: string; readonly color: string }> = {
  "ours-deno": { label: "faktory-ts, Deno", color: "#2a7ab0" },
  "ours-bun": { label: "faktory-ts, Bun", color: "#e0a030" },
  "ours-node": { label: "faktory-ts, Node (npm build)", color: "#3c9a50" },
  "floor-deno": { label: "floor, Deno", color: "#8fbfdf" },
  "floor-bun": { label: "floor, Bun", color: "#f0d090" },
  "floor-node": { label: "floor, Node", color: "#9fd4a8" },
  "go": { label: "Go reference client", color: "#555555" },
  "faktory-worker": { label: "faktory-worker (npm), Node", color: "#b04a4a" },
};

export const SCENARIO_IDS = [
  "push-seq",
  "push-conc",
  "pushb-100",
  "pushb-1000",
  "drain-1",
  "drain-10",
  "drain-50",
  "mixed",
  "connect",
  "first-job",
  "rss",
] as const;
export type ScenarioId = typeof SCENARIO_IDS[number];

/** Jobs per scenario: the full run's, or about a tenth in --quick. */
export interface Sizes {
  readonly push: number;
  readonly drain: number;
  readonly mixed: number;
  readonly connect: number;
  /**
   * Jobs each client does first, in the same process and untimed, before a
   * push or drain scenario's measured jobs: V8 and JavaScriptCore compile
   * the hot paths over the first thousands of jobs, so the rows compare
   * steady states (start-up has the connect and first-job rows).
   */
  readonly warmup: number;
  readonly rssSmall: number;
  readonly rssLarge: number;
  /** The --long memory run (1M jobs). */
  readonly rssLong: number;
}

export function sizes(quick: boolean): Sizes {
  return quick
    ? {
      push: 1_000,
      drain: 2_000,
      mixed: 3_000,
      connect: 2,
      warmup: 1_000,
      rssSmall: 2_000,
      rssLarge: 10_000,
      rssLong: 20_000,
    }
    : {
      push: 20_000,
      drain: 20_000,
      mixed: 30_000,
      connect: 20,
      warmup: 20_000,
      rssSmall: 10_000,
      rssLarge: 100_000,
      rssLong: 1_000_000,
    };
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  readonly mode: "push-seq" | "push-conc" | "pushb" | "drain" | "mixed" | "connect" | "first-job";
  readonly jobs: number;
  readonly concurrency?: number;
  readonly batch?: number;
  /** Repetitions inside one process (first-job). */
  readonly count?: number;
  /** Jobs pushed (PUSHB) into "default" before the client starts. */
  readonly preload?: number;
  /** Jobs done untimed before the measured ones (see `Sizes.warmup`). */
  readonly warmup?: number;
  readonly password?: boolean;
}

/** The scenarios of a run of these sizes (the RSS check is run apart). */
export function scenarios(size: Sizes): Scenario[] {
  return [
    {
      id: "push-seq",
      title: "PUSH, sequential",
      mode: "push-seq",
      jobs: size.push,
      warmup: size.warmup,
    },
    {
      id: "push-conc",
      title: "PUSH, 50 concurrent (pool)",
      mode: "push-conc",
      jobs: size.push,
      concurrency: 50,
      warmup: size.warmup,
    },
    {
      id: "pushb-100",
      title: "PUSHB x 100",
      mode: "pushb",
      jobs: size.push * 2,
      batch: 100,
      warmup: size.warmup,
    },
    {
      id: "pushb-1000",
      title: "PUSHB x 1000",
      mode: "pushb",
      jobs: size.push * 5,
      batch: 1000,
      warmup: size.warmup,
    },
    ...[1, 10, 50].map((c): Scenario => ({
      id: `drain-${c}` as ScenarioId,
      title: `drain, concurrency ${c}`,
      mode: "drain",
      jobs: size.drain,
      concurrency: c,
      preload: size.drain + size.warmup,
      warmup: size.warmup,
    })),
    { id: "mixed", title: "mixed (load tester)", mode: "mixed", jobs: size.mixed, concurrency: 10 },
    {
      id: "connect",
      title: "connect + HELLO, password",
      mode: "connect",
      jobs: 0,
      concurrency: size.connect,
      password: true,
    },
    {
      id: "first-job",
      title: "time to first job, password, concurrency 10",
      mode: "first-job",
      jobs: 0,
      concurrency: 10,
      count: Math.max(2, Math.round(size.connect / 4)),
      password: true,
    },
  ];
}

/** What one client process measured. */
export interface Measured {
  jobs: number;
  seconds: number;
  /** CPU seconds of the measured phase (runner's own figure), if it has one. */
  cpu?: number;
  /** Whole process: CPU seconds, wall seconds, peak RSS (KiB), from /usr/bin/time. */
  cpuProcess?: number;
  wallProcess?: number;
  peakRssKb?: number;
  ms?: number[];
  /** Cores kept busy by anything but the client and the server during the run. */
  otherCores?: number;
  /** Password hash iterations of each connection (connect). */
  iters?: number[];
  /** The floor's hash chain alone, ms per connection (connect). */
  hashMs?: number[];
  /** Jobs done untimed before `jobs`: the server's CPU covers both. */
  warmup?: number;
  [key: string]: unknown;
}

/** One measurement: a scenario, a client, a repetition. */
export interface Run extends Measured {
  scenario: string;
  client: ClientId;
  repeat: number;
  jobsPerSec?: number;
}

/** results.json as measure() writes it; render() adds `summary` and `targets`. */
export interface Results {
  date: string;
  command: string;
  quick: boolean;
  /** The memory run up to 1M jobs (--long). */
  long?: boolean;
  repeat: number;
  /** How long the run took, in minutes. */
  minutes?: number;
  sizes: Sizes;
  machine: { cpus: number; model?: string | undefined; loadBefore: string; loadAfter: string };
  versions: Record<string, string>;
  /** The clients of this run, by id: their labels. */
  clients: Partial<Record<ClientId, string>>;
  scenarios: Record<string, string>;
  failures: { scenario: string; client: string; error: string }[];
  runs: Run[];
}
