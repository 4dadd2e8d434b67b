/**
 * OpenTelemetry tracing and metrics for Faktory jobs: the
 * `@faktory-ts/faktory/otel` entry point, two middleware and nothing else (no
 * socket code). {@linkcode pushTelemetry} goes on a producer,
 * {@linkcode jobTelemetry} on a worker; both also fit the test doubles of
 * `./testing`.
 *
 * - **Spans**, after the messaging semantic conventions: a PRODUCER span per
 *   push (`send {queue}`) and a CONSUMER span per run of a job
 *   (`process {queue}`), with `messaging.system` `faktory`, the queue
 *   (`messaging.destination.name`), the jid (`messaging.message.id`), the
 *   operation (`messaging.operation.name` and `.type`) and the jobtype
 *   (`messaging.faktory.jobtype`). A failure sets the span's status and
 *   `error.type` to the errtype the FAIL reports, and records the exception.
 * - **Context** travels in the job's `custom` as W3C `traceparent` and
 *   `tracestate`, so the run is a child of the push, in one trace, and a
 *   Go or Ruby worker that reads them joins it.
 * - **Metrics**: `faktory.jobs.processed` and `faktory.jobs.failed` (jobs
 *   ACKed or FAILed, and FAILed; by `messaging.destination.name` and
 *   `messaging.faktory.jobtype`, failures also by `error.type`),
 *   `faktory.jobs.running` (jobs in flight), `messaging.process.duration`
 *   (a job's run, in seconds) and `messaging.client.operation.duration`
 *   (a push until the server's reply, in seconds).
 *
 * `@opentelemetry/api` (1.7 or later) is an optional peer dependency: the
 * application installs it with an SDK. Without an SDK the API does nothing
 * and these middleware cost next to nothing.
 *
 * @example
 * ```ts ignore
 * import { Producer, Worker } from "@faktory-ts/faktory";
 * import { jobTelemetry, pushTelemetry } from "@faktory-ts/faktory/otel";
 *
 * // The global tracer and meter providers, as an OpenTelemetry SDK registers them.
 * await using producer = await Producer.connect({ middleware: [pushTelemetry()] });
 * const worker = new Worker({ middleware: [jobTelemetry()] }); // first: it covers the rest
 * ```
 *
 * @module
 */

import {
  type Attributes,
  context,
  defaultTextMapSetter,
  type Meter,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { describeFailure } from "./failure.ts";
import type { JobMiddleware } from "./handlers.ts";
import { traceContext } from "./otel/trace_context.ts";
import type { PushMiddleware } from "./push.ts";
import { checkOptions, TELEMETRY_OPTIONS } from "./rules.ts";

/**
 * Where spans and metrics go, and how the trace context travels; all
 * optional.
 *
 * @example
 * ```ts
 * import { metrics, trace } from "@opentelemetry/api";
 * import type { TelemetryOptions } from "@faktory-ts/faktory/otel";
 * const options: TelemetryOptions = {
 *   tracerProvider: trace.getTracerProvider(),
 *   meterProvider: metrics.getMeterProvider(),
 * };
 * ```
 */
export interface TelemetryOptions {
  /** Where spans go. Default: the global tracer provider, when spans start. */
  readonly tracerProvider?: TracerProvider | undefined;
  /** Where metrics go. Default: the global meter provider, when values are recorded. */
  readonly meterProvider?: MeterProvider | undefined;
  /**
   * How the trace context is written to and read from `custom`. Default: W3C
   * Trace Context (`traceparent`, `tracestate`), whatever the global
   * propagator is; pass `propagation` (the global one) to use that instead.
   */
  readonly propagator?: TextMapPropagator | undefined;
}

/** The instrumentation scope name of the spans and metrics. */
const SCOPE = "@faktory-ts/faktory";
/** The messaging conventions' advice for duration histograms, in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const SYSTEM = { "messaging.system": "faktory" } as const;

/** Reads string fields of a job's `custom`. */
const customGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (custom) => Object.keys(custom),
  get: (custom, key) => {
    const value = Object.hasOwn(custom, key) ? custom[key] : undefined;
    return typeof value === "string" ? value : undefined;
  },
};

/**
 * Push middleware: a PRODUCER span per push, its context in the job's
 * `custom`, and the push's duration (`messaging.client.operation.duration`).
 * In a bulk push the span is a `create` span (the job's creation context)
 * and no duration is recorded: the batch is sent after the middleware ran.
 *
 * @example
 * ```ts ignore
 * import { Producer } from "@faktory-ts/faktory";
 * import { pushTelemetry } from "@faktory-ts/faktory/otel";
 * await using producer = await Producer.connect({ middleware: [pushTelemetry()] });
 * ```
 */
export function pushTelemetry(options: TelemetryOptions = {}): PushMiddleware {
  checkOptions(TELEMETRY_OPTIONS, options, "telemetry options");
  const propagator = options.propagator ?? traceContext;
  const telemetry = lazily(options, (meter) => ({
    duration: meter.createHistogram("messaging.client.operation.duration", {
      unit: "s",
      description: "How long a push took, until the server's reply",
      advice: { explicitBucketBoundaries: BUCKETS },
    }),
  }));
  return async (job, next, push) => {
    const { tracer, duration } = telemetry();
    const queue = job.queue ?? "default";
    const operation = push?.bulk ? "create" : "send";
    const attributes = {
      ...SYSTEM,
      "messaging.operation.name": operation,
      "messaging.operation.type": operation,
      "messaging.destination.name": queue,
      "messaging.faktory.jobtype": job.jobtype,
    };
    const span = tracer.startSpan(`${operation} ${queue}`, {
      kind: SpanKind.PRODUCER,
      attributes: { ...attributes, "messaging.message.id": job.jid },
    });
    const active = trace.setSpan(context.active(), span);
    const carrier: Record<string, string> = {};
    propagator.inject(active, carrier, defaultTextMapSetter);
    if (Object.keys(carrier).length > 0) job.custom = { ...job.custom, ...carrier };
    const started = performance.now();
    let errorType: string | undefined;
    try {
      await context.with(active, next);
    } catch (error) {
      errorType = failed(span, error);
      throw error;
    } finally {
      span.end();
      if (!push?.bulk) {
        duration.record((performance.now() - started) / 1000, withError(attributes, errorType));
      }
    }
  };
}

/**
 * Job middleware: a CONSUMER span per run of a job, child of the push's span
 * when the job carries its context, and the job metrics. Put it first, so
 * it covers the other middleware, and the handler's own spans are its
 * children (given a context manager, as the SDKs for Node register).
 *
 * @example
 * ```ts ignore
 * import { Worker } from "@faktory-ts/faktory";
 * import { jobTelemetry } from "@faktory-ts/faktory/otel";
 * const worker = new Worker({ queues: ["default"], middleware: [jobTelemetry()] });
 * ```
 */
export function jobTelemetry(options: TelemetryOptions = {}): JobMiddleware {
  checkOptions(TELEMETRY_OPTIONS, options, "telemetry options");
  const propagator = options.propagator ?? traceContext;
  const telemetry = lazily(options, (meter) => ({
    duration: meter.createHistogram("messaging.process.duration", {
      unit: "s",
      description: "How long a job ran, its middleware included",
      advice: { explicitBucketBoundaries: BUCKETS },
    }),
    processed: meter.createCounter("faktory.jobs.processed", {
      unit: "{job}",
      description: "Jobs run to their end, ACKed or FAILed",
    }),
    failed: meter.createCounter("faktory.jobs.failed", {
      unit: "{job}",
      description: "Jobs FAILed",
    }),
    running: meter.createUpDownCounter("faktory.jobs.running", {
      unit: "{job}",
      description: "Jobs running now",
    }),
  }));
  return async (job, ctx, next) => {
    const { tracer, duration, processed, failed: failures, running } = telemetry();
    const creation = propagator.extract(context.active(), job.custom, customGetter);
    const producer = trace.getSpanContext(creation);
    const counted = {
      ...SYSTEM,
      "messaging.destination.name": job.queue,
      "messaging.faktory.jobtype": job.jobtype,
    };
    const attributes = {
      ...counted,
      "messaging.operation.name": "process",
      "messaging.operation.type": "process",
    };
    const span = tracer.startSpan(`process ${job.queue}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...attributes,
        "messaging.message.id": job.jid,
        "messaging.client.id": ctx.wid,
        ...(job.failure?.retry_count === undefined
          ? {}
          : { "messaging.faktory.retry_count": job.failure.retry_count }),
      },
      links: producer === undefined ? [] : [{ context: producer }],
    }, creation);
    running.add(1, counted);
    const started = performance.now();
    let errorType: string | undefined;
    try {
      await context.with(trace.setSpan(creation, span), next);
    } catch (error) {
      errorType = failed(span, error);
      throw error;
    } finally {
      span.end();
      running.add(-1, counted);
      duration.record((performance.now() - started) / 1000, withError(attributes, errorType));
      processed.add(1, withError(counted, errorType));
      if (errorType !== undefined) failures.add(1, withError(counted, errorType));
    }
  };
}

/**
 * The tracer and the instruments `make` creates, for the providers given or
 * the global ones; made again when a global provider changes (an SDK
 * registered after the middleware was created).
 */
function lazily<T>(
  options: TelemetryOptions,
  make: (meter: Meter) => T,
): () => T & { readonly tracer: Tracer } {
  let made: { tp: TracerProvider; mp: MeterProvider; value: T & { tracer: Tracer } } | undefined;
  return () => {
    const tp = options.tracerProvider ?? trace.getTracerProvider();
    const mp = options.meterProvider ?? metrics.getMeterProvider();
    if (made?.tp !== tp || made.mp !== mp) {
      made = { tp, mp, value: { ...make(mp.getMeter(SCOPE)), tracer: tp.getTracer(SCOPE) } };
    }
    return made.value;
  };
}

/** Marks the span failed with what the FAIL reports; returns the errtype. */
function failed(span: Span, error: unknown): string {
  const { errtype, message } = describeFailure(error);
  span.setAttribute("error.type", errtype);
  span.recordException(error instanceof Error ? error : { name: errtype, message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  return errtype;
}

function withError(attributes: Attributes, errorType: string | undefined): Attributes {
  return errorType === undefined ? attributes : { ...attributes, "error.type": errorType };
}
