/**
 * What scripts/bench/measure.ts measures and scripts/bench/render.ts renders:
 * the clients, the scenarios, and the shape of results.json.
 *
 * @module
 */

export const CLIENT_IDS = ["ours-deno", "ours-bun", "ours-node", "go", "faktory-worker"] as const;
export type ClientId = typeof CLIENT_IDS[number];

/** How each client is named and drawn. */
export const CLIENT_STYLE: Record<ClientId, { readonly label: string; readonly color: string }> = {
  "ours-deno": { label: "faktory-ts, Deno", color: "#2a7ab0" },
  "ours-bun": { label: "faktory-ts, Bun", color: "#e0a030" },
  "ours-node": { label: "faktory-ts, Node (npm build)", color: "#3c9a50" },
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
  "rss",
] as const;
export type ScenarioId = typeof SCENARIO_IDS[number];

/** Jobs per scenario: the full run's, or about a tenth in --quick. */
export interface Sizes {
  readonly push: number;
  readonly drain: number;
  readonly mixed: number;
  readonly connect: number;
  readonly rssSmall: number;
  readonly rssLarge: number;
}

export function sizes(quick: boolean): Sizes {
  return quick
    ? { push: 1_000, drain: 2_000, mixed: 3_000, connect: 2, rssSmall: 2_000, rssLarge: 10_000 }
    : {
      push: 20_000,
      drain: 20_000,
      mixed: 30_000,
      connect: 10,
      rssSmall: 10_000,
      rssLarge: 100_000,
    };
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  readonly mode: "push-seq" | "push-conc" | "pushb" | "drain" | "mixed" | "connect";
  readonly jobs: number;
  readonly concurrency?: number;
  readonly batch?: number;
  /** Jobs pushed (PUSHB) into "default" before the client starts. */
  readonly preload?: number;
  readonly password?: boolean;
}

/** The scenarios of a run of these sizes (the RSS check is run apart). */
export function scenarios(size: Sizes): Scenario[] {
  return [
    { id: "push-seq", title: "PUSH, sequential", mode: "push-seq", jobs: size.push },
    {
      id: "push-conc",
      title: "PUSH, 50 concurrent (pool)",
      mode: "push-conc",
      jobs: size.push,
      concurrency: 50,
    },
    { id: "pushb-100", title: "PUSHB x 100", mode: "pushb", jobs: size.push * 2, batch: 100 },
    { id: "pushb-1000", title: "PUSHB x 1000", mode: "pushb", jobs: size.push * 5, batch: 1000 },
    ...[1, 10, 50].map((c): Scenario => ({
      id: `drain-${c}` as ScenarioId,
      title: `drain, concurrency ${c}`,
      mode: "drain",
      jobs: size.drain,
      concurrency: c,
      preload: size.drain,
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
  ];
}

/**
 * V8 grows its young generation with the volume allocated (up to 16 MiB per
 * semi-space on Node, 32 MiB on Deno), so peak RSS rises over a long run
 * though the live heap stays flat. The RSS check runs once more with this
 * cap, the flag an operator would set, to show what it takes.
 */
export const SEMI_SPACE_CAP = "--max-semi-space-size=4";

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
  repeat: number;
  sizes: Sizes;
  machine: { cpus: number; model?: string | undefined; loadBefore: string; loadAfter: string };
  versions: Record<string, string>;
  /** The clients of this run, by id: their labels. */
  clients: Partial<Record<ClientId, string>>;
  scenarios: Record<string, string>;
  failures: { scenario: string; client: string; error: string }[];
  runs: Run[];
}
