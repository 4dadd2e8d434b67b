// The ./otel entry point, read back through the OpenTelemetry SDK's in-memory
// exporters: a job pushed by a Producer and run by a Worker on a real Faktory
// forms one trace, with the semantic conventions' attributes and the job
// metrics; the trace context travels as W3C fields in `custom`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Context,
  context,
  type ContextManager,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { defineJob, type Job, Producer, silentLogger, ValidationError, Worker } from "../mod.ts";
import { jobTelemetry, pushTelemetry, type TelemetryOptions } from "../src/otel.ts";
import { fake, inline } from "../src/testing.ts";
import { runtimeCommand, runToEnd } from "./harness/child.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";

/** An SDK with in-memory exporters, as an application would set one up. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported on demand (forceFlush), never on a timer.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    spans,
    options: { tracerProvider, meterProvider } satisfies TelemetryOptions,
    /** The metrics recorded so far, by name. */
    async metrics(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const last = exporter.getMetrics().at(-1);
      const all = last?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
      return new Map(all.map((metric) => [metric.descriptor.name, metric]));
    },
    async [Symbol.asyncDispose]() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The value of a counter's point, or a histogram's count, with exactly these attributes. */
function point(data: MetricData | undefined, attributes: Record<string, unknown>): unknown {
  const found = data?.dataPoints.find((p) =>
    JSON.stringify(Object.entries(p.attributes).sort()) ===
      JSON.stringify(Object.entries(attributes).sort())
  );
  const value = found?.value;
  return typeof value === "object" && value !== null && "count" in value ? value.count : value;
}

/** What an SDK for Node registers (@opentelemetry/context-async-hooks), in short. */
class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const W3C = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe("./otel on a real Faktory", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  test("a job pushed and run is one trace: the PRODUCER span is the CONSUMER span's parent; metrics", async () => {
    await using telemetry = sdk();
    const queue = "otel-trace";
    const Resize = defineJob<[imageId: number]>("Resize", { queue, retry: 0 });
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
      middleware: [pushTelemetry(telemetry.options)],
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: Job[] = [];
    const done: string[] = [];
    const worker = new Worker({
      url: server.url,
      queues: [queue],
      logger: silentLogger,
      middleware: [jobTelemetry(telemetry.options)],
    });
    worker.register(Resize, async (job) => {
      await gate;
      if (job.args[0] < 0) throw new RangeError("no such image");
    });
    worker.on("start", (job) => started.push(job));
    worker.on("success", (job) => done.push(job.jid));
    worker.on("failure", (job) => done.push(job.jid));
    const running = worker.run();
    try {
      const ok = await producer.perform(Resize, [7]);
      const bad = await producer.perform(Resize, [-1]);
      await until(() => started.length === 2);
      const inFlight = await telemetry.metrics();
      const counted = {
        "messaging.system": "faktory",
        "messaging.destination.name": queue,
        "messaging.faktory.jobtype": "Resize",
      };
      assert.equal(point(inFlight.get("faktory.jobs.running"), counted), 2, "two jobs in flight");
      release();
      await until(() => done.length === 2);

      // The trace context travelled in custom, as W3C fields.
      const carried = started.find((j) => j.jid === ok)!.custom;
      assert.match(String(carried.traceparent), W3C);

      const finished = telemetry.spans.getFinishedSpans();
      const span = (kind: SpanKind, jid: string): ReadableSpan => {
        const found = finished.find((s) =>
          s.kind === kind && s.attributes["messaging.message.id"] === jid
        );
        assert.ok(found, `a ${SpanKind[kind]} span for ${jid}`);
        return found;
      };
      const send = span(SpanKind.PRODUCER, ok);
      const process = span(SpanKind.CONSUMER, ok);
      assert.equal(send.name, `send ${queue}`);
      assert.deepEqual(send.attributes, {
        "messaging.system": "faktory",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": queue,
        "messaging.message.id": ok,
        "messaging.faktory.jobtype": "Resize",
      });
      assert.equal(process.name, `process ${queue}`);
      assert.deepEqual(process.attributes, {
        "messaging.system": "faktory",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": queue,
        "messaging.message.id": ok,
        "messaging.faktory.jobtype": "Resize",
        "messaging.client.id": worker.wid,
      });
      assert.equal(process.spanContext().traceId, send.spanContext().traceId, "one trace");
      assert.equal(process.parentSpanContext?.spanId, send.spanContext().spanId, "push is parent");
      assert.equal(
        carried.traceparent,
        `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`,
      );
      assert.deepEqual(process.links.map((l) => l.context.spanId), [send.spanContext().spanId]);
      assert.equal(send.status.code, SpanStatusCode.UNSET);
      assert.equal(process.status.code, SpanStatusCode.UNSET);

      const failed = span(SpanKind.CONSUMER, bad);
      assert.equal(
        failed.parentSpanContext?.spanId,
        span(SpanKind.PRODUCER, bad).spanContext().spanId,
      );
      assert.equal(failed.status.code, SpanStatusCode.ERROR);
      assert.equal(failed.status.message, "no such image");
      assert.equal(failed.attributes["error.type"], "RangeError", "the errtype the FAIL reports");
      assert.equal(failed.events[0]?.name, "exception");
      assert.equal(failed.events[0]?.attributes?.["exception.type"], "RangeError");

      const m = await telemetry.metrics();
      const errored = { ...counted, "error.type": "RangeError" };
      assert.equal(point(m.get("faktory.jobs.processed"), counted), 1);
      assert.equal(point(m.get("faktory.jobs.processed"), errored), 1);
      assert.equal(point(m.get("faktory.jobs.failed"), errored), 1);
      assert.equal(m.get("faktory.jobs.failed")?.dataPoints.length, 1, "only failures count");
      assert.equal(point(m.get("faktory.jobs.running"), counted), 0, "none in flight");
      const processing = { ...counted, "messaging.operation.name": "process" };
      const processed = { ...processing, "messaging.operation.type": "process" };
      assert.equal(point(m.get("messaging.process.duration"), processed), 1);
      assert.equal(point(m.get("messaging.process.duration"), { ...processed, ...errored }), 1);
      assert.equal(m.get("messaging.process.duration")?.descriptor.unit, "s");
      const pushes = m.get("messaging.client.operation.duration");
      assert.equal(pushes?.descriptor.unit, "s");
      assert.equal(
        point(pushes, {
          ...counted,
          "messaging.operation.name": "send",
          "messaging.operation.type": "send",
        }),
        2,
        "both pushes were timed",
      );
    } finally {
      release();
      await worker.stop();
      await running;
    }
  });

  test("examples/otel.ts pushes and runs a job, and prints one trace and the count", async () => {
    const [command, args] = runtimeCommand("examples/otel.ts");
    const { lines } = await runToEnd(command, args, { FAKTORY_URL: server.url });
    const span = (name: string) =>
      lines.map((line) =>
        new RegExp(`^${name} otel-example: trace (\\w+) span (\\w+) parent (\\w+)$`).exec(line)
      )
        .find((m) => m !== null);
    const [send, process] = [span("send"), span("process")];
    assert.ok(send && process, lines.join("\n"));
    assert.equal(process[1], send[1], "one trace");
    assert.equal(process[3], send[2], "the push is the run's parent");
    assert.ok(lines.includes("faktory.jobs.processed: 1"), lines.join("\n"));
  });
});

describe("./otel without a server", () => {
  test("./testing: fake() and inline() trace and count as a Producer and a Worker do", async () => {
    await using telemetry = sdk();
    const Ping = defineJob<[]>("Ping", { queue: "t" });
    const middleware = {
      middleware: [pushTelemetry(telemetry.options)],
      jobMiddleware: [jobTelemetry(telemetry.options)],
    };
    const jobs = fake(middleware).register(Ping, () => {});
    await jobs.perform(Ping, []);
    await jobs.drain();
    await inline(middleware).register(Ping, () => {}).perform(Ping, []);
    const spans = telemetry.spans.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name), ["send t", "process t", "send t", "process t"]);
    for (const i of [0, 2]) {
      assert.equal(spans[i + 1]?.parentSpanContext?.spanId, spans[i]?.spanContext().spanId);
    }
    const m = await telemetry.metrics();
    assert.equal(
      point(m.get("faktory.jobs.processed"), {
        "messaging.system": "faktory",
        "messaging.destination.name": "t",
        "messaging.faktory.jobtype": "Ping",
      }),
      2,
    );
  });

  test("a bulk push makes a create span per job and times no push (the batch is sent later)", async () => {
    await using telemetry = sdk();
    const jobs = fake({ middleware: [pushTelemetry(telemetry.options)] });
    const jids = await jobs.performBulk({ jobtype: "Bulk", queue: "b" }, [[1], [2]]);
    const spans = telemetry.spans.getFinishedSpans();
    assert.deepEqual(spans.map((s) => [s.name, s.kind, s.attributes["messaging.message.id"]]), [
      ["create b", SpanKind.PRODUCER, jids[0]],
      ["create b", SpanKind.PRODUCER, jids[1]],
    ]);
    assert.equal(spans[0]!.attributes["messaging.operation.type"], "create");
    assert.deepEqual(
      jobs.jobs("b").map((j) => j.custom.traceparent),
      spans.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`),
      "each job carries its own creation context",
    );
    assert.equal((await telemetry.metrics()).get("messaging.client.operation.duration"), undefined);
  });

  test("W3C trace context: another client's traceparent and tracestate are joined; a bad one is not", async () => {
    await using telemetry = sdk();
    const jobs = fake({ jobMiddleware: [jobTelemetry(telemetry.options)] }).register(
      "Go",
      () => {},
    );
    // The examples of the W3C Trace Context recommendation, as a Go or Ruby producer writes them.
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    await jobs.perform({
      jobtype: "Go",
      custom: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate },
    }, []);
    for (
      const traceparent of [
        `00-${traceId}-0000000000000000-01`, // zero span id
        `ff-${traceId}-00f067aa0ba902b7-01`, // version ff
        `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`, // upper case
        `00-${traceId}-00f067aa0ba902b7-01-extra`, // version 00 has no more fields
        42,
      ]
    ) {
      await jobs.perform({ jobtype: "Go", custom: { traceparent } }, []);
    }
    await jobs.drain();
    const [joined, ...fresh] = telemetry.spans.getFinishedSpans();
    assert.equal(joined?.spanContext().traceId, traceId);
    assert.equal(joined?.parentSpanContext?.spanId, "00f067aa0ba902b7");
    assert.equal(joined?.parentSpanContext?.isRemote, true);
    assert.equal(
      joined?.spanContext().traceState?.serialize(),
      tracestate,
      "tracestate travels on",
    );
    assert.equal(fresh.length, 5);
    for (const span of fresh) {
      assert.equal(span.parentSpanContext, undefined, "a malformed traceparent starts a trace");
      assert.notEqual(span.spanContext().traceId, traceId);
    }
  });

  test("with a context manager, a push joins the active span; a handler's pushes join its run", async () => {
    await using telemetry = sdk();
    assert.ok(context.setGlobalContextManager(new AsyncContextManager()));
    try {
      const tracer = telemetry.options.tracerProvider.getTracer("app");
      const jobs = inline({
        middleware: [pushTelemetry(telemetry.options)],
        jobMiddleware: [jobTelemetry(telemetry.options)],
      });
      let activeInHandler: string | undefined;
      jobs.register("Parent", async () => {
        activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
        await jobs.perform({ jobtype: "Child" }, []);
      });
      jobs.register("Child", () => {});
      await tracer.startActiveSpan("request", async (request) => {
        await jobs.perform({ jobtype: "Parent" }, []);
        request.end();
      });
      const spans = telemetry.spans.getFinishedSpans();
      const named = (name: string, jobtype?: string) =>
        spans.find((s) =>
          s.name === name &&
          (jobtype === undefined || s.attributes["messaging.faktory.jobtype"] === jobtype)
        )!;
      const request = named("request");
      const chain = [
        request,
        named("send default", "Parent"),
        named("process default", "Parent"),
        named("send default", "Child"),
        named("process default", "Child"),
      ];
      for (let i = 1; i < chain.length; i++) {
        assert.equal(
          chain[i]!.parentSpanContext?.spanId,
          chain[i - 1]!.spanContext().spanId,
          `${i}`,
        );
        assert.equal(chain[i]!.spanContext().traceId, request.spanContext().traceId);
      }
      assert.equal(activeInHandler, chain[2]!.spanContext().spanId, "the run is the active span");
    } finally {
      context.disable();
    }
  });

  test("global providers set after the middleware was made are used; bad options are refused", async () => {
    await using telemetry = sdk();
    const push = pushTelemetry();
    const run = jobTelemetry();
    assert.ok(trace.setGlobalTracerProvider(telemetry.options.tracerProvider));
    assert.ok(metrics.setGlobalMeterProvider(telemetry.options.meterProvider));
    try {
      const jobs = inline({ middleware: [push], jobMiddleware: [run] }).register("G", () => {});
      await jobs.perform({ jobtype: "G" }, []);
      assert.deepEqual(telemetry.spans.getFinishedSpans().map((s) => s.name), [
        "send default",
        "process default",
      ]);
      assert.ok((await telemetry.metrics()).has("faktory.jobs.processed"));
    } finally {
      trace.disable();
      metrics.disable();
    }
    assert.throws(
      () => pushTelemetry({ tracerProvider: {} as never }),
      (e) =>
        e instanceof ValidationError &&
        /^Invalid tracerProvider \{\}: use a TracerProvider/.test(e.message),
    );
    assert.throws(() => jobTelemetry({ propagator: null as never }), /Invalid propagator null/);
    jobTelemetry({ propagator: propagation }); // the global propagator, as the docs offer
    assert.throws(() => jobTelemetry({ meterprovider: {} } as never), /use "meterProvider"/);
  });
});
