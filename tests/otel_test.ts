// examples/otel.ts, run through the testing helpers with a small in-memory
// tracer and a traceparent propagator in place of an OpenTelemetry SDK.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Context,
  propagation,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { defineJob } from "../mod.ts";
import { fake } from "../src/testing.ts";
import { traceJob, tracePush } from "../examples/otel.ts";

class RecordedSpan implements Span {
  readonly attributes: Record<string, unknown> = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  exceptions: unknown[] = [];
  ended = false;
  readonly #context: SpanContext;
  constructor(
    readonly name: string,
    readonly kind: SpanKind | undefined,
    readonly parent: SpanContext | undefined,
    id: number,
  ) {
    this.#context = {
      traceId: parent?.traceId ?? id.toString(16).padStart(32, "0"),
      spanId: id.toString(16).padStart(16, "0"),
      traceFlags: 1,
    };
  }
  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: unknown): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Record<string, unknown>): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    this.ended = true;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: unknown): void {
    this.exceptions.push(exception);
  }
}

const spans: RecordedSpan[] = [];

const tracer: Tracer = {
  startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
    const parent = context === undefined ? undefined : trace.getSpanContext(context);
    const span = new RecordedSpan(name, options.kind, parent, spans.length + 1);
    span.setAttributes(options.attributes ?? {});
    spans.push(span);
    return span;
  },
  startActiveSpan(): never {
    throw new Error("not used by examples/otel.ts");
  },
};
const provider: TracerProvider = { getTracer: () => tracer };

/** W3C traceparent, the part the example needs. */
const propagator: TextMapPropagator = {
  inject(context, carrier, setter) {
    const span = trace.getSpanContext(context);
    if (span) setter.set(carrier, "traceparent", `00-${span.traceId}-${span.spanId}-01`);
  },
  extract(context, carrier, getter) {
    const value = getter.get(carrier, "traceparent");
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(value));
    if (!m) return context;
    return trace.setSpanContext(context, {
      traceId: m[1]!,
      spanId: m[2]!,
      traceFlags: 1,
      isRemote: true,
    });
  },
  fields: () => ["traceparent"],
};

before(() => {
  assert.ok(trace.setGlobalTracerProvider(provider), "a tracer provider was already set");
  assert.ok(propagation.setGlobalPropagator(propagator), "a propagator was already set");
});
after(() => {
  trace.disable();
  propagation.disable();
});

test("a span per push and per job run, the run a child of the push", async () => {
  const Resize = defineJob<[imageId: number]>("Resize", { queue: "images" });
  const jobs = fake({ middleware: [tracePush], jobMiddleware: [traceJob], wid: "w-1" });
  jobs.register(Resize, (job) => {
    if (job.args[0] < 0) throw new RangeError("no such image");
  });
  const ok = await jobs.perform(Resize, [7]);
  await jobs.perform(Resize, [-1]);
  assert.match(
    String((jobs.jobs("images")[0]?.custom["otel"] as Record<string, unknown>)?.traceparent),
    /^00-/,
    "the trace context travels in custom.otel",
  );
  await jobs.drain({ limit: 1 });
  await assert.rejects(jobs.drain(), RangeError);

  const [sendOk, sendBad, runOk, runBad] = spans;
  assert.deepEqual(spans.map((s) => s.name), [
    "send Resize",
    "send Resize",
    "process Resize",
    "process Resize",
  ]);
  assert.ok(spans.every((s) => s.ended), "every span ended");
  assert.equal(sendOk?.attributes["messaging.message.id"], ok);
  assert.equal(sendOk?.attributes["messaging.destination.name"], "images");
  assert.equal(runOk?.parent?.spanId, sendOk?.spanContext().spanId, "the run continues the push");
  assert.equal(runOk?.spanContext().traceId, sendOk?.spanContext().traceId);
  assert.equal(runOk?.attributes["faktory.wid"], "w-1");
  assert.equal(runOk?.status.code, SpanStatusCode.OK);
  assert.equal(runBad?.parent?.spanId, sendBad?.spanContext().spanId);
  assert.equal(runBad?.status.code, SpanStatusCode.ERROR);
  assert.equal(runBad?.status.message, "RangeError: no such image");
  assert.ok(runBad?.exceptions[0] instanceof RangeError);
});
