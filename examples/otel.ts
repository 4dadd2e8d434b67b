/**
 * OpenTelemetry tracing as middleware: a PRODUCER span around each push,
 * whose trace context travels in the job's `custom.otel` (W3C
 * `traceparent`), and a CONSUMER span around each run of the job, child of
 * the push's span, that records the error when the job fails.
 *
 * `@opentelemetry/api` is an optional peer: the library does not depend on
 * it. Your application installs it along with an SDK and exporter
 * (`npm install @opentelemetry/api @opentelemetry/sdk-node`); without an SDK
 * the API does nothing and these middleware cost next to nothing.
 *
 * ```ts
 * import { Producer, Worker } from "@faktory-ts/faktory";
 * import { traceJob, tracePush } from "./otel.ts";
 *
 * const producer = await Producer.connect({ middleware: [tracePush] });
 * const worker = new Worker({ middleware: [traceJob] });
 * ```
 */
import {
  type Attributes,
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { Job, JobMiddleware, JobPayload, PushMiddleware } from "../mod.ts";

const tracer = trace.getTracer("faktory-ts");

/** Where the trace context travels in a job. */
const CARRIER = "otel";

function attributes(job: JobPayload | Job, operation: "send" | "process"): Attributes {
  return {
    "messaging.system": "faktory",
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    "messaging.destination.name": job.queue ?? "default",
    "messaging.message.id": job.jid,
    "faktory.jobtype": job.jobtype,
  };
}

/** Runs `body` in `span`, marks the span failed if `body` throws, and ends it. */
async function within(span: ReturnType<typeof tracer.startSpan>, body: () => Promise<void>) {
  try {
    await context.with(trace.setSpan(context.active(), span), body);
    span.setStatus({ code: SpanStatusCode.OK });
  } catch (error) {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Push middleware: a PRODUCER span per push, and its context in
 * `custom.otel` so the job's run joins the same trace.
 */
export const tracePush: PushMiddleware = (job, next) => {
  const span = tracer.startSpan(`send ${job.jobtype}`, {
    kind: SpanKind.PRODUCER,
    attributes: attributes(job, "send"),
  });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  if (Object.keys(carrier).length > 0) job.custom = { ...job.custom, [CARRIER]: carrier };
  return within(span, next);
};

/**
 * Job middleware: a CONSUMER span per run of a job, child of the span that
 * pushed it when the job carries one. Put it first, so it covers the others.
 */
export const traceJob: JobMiddleware = (job, ctx, next) => {
  const carrier = job.custom[CARRIER];
  const parent = typeof carrier === "object" && carrier !== null
    ? propagation.extract(context.active(), carrier as Record<string, string>)
    : context.active();
  const span = tracer.startSpan(`process ${job.jobtype}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      ...attributes(job, "process"),
      "faktory.wid": ctx.wid,
      "faktory.retry_count": job.failure?.retry_count ?? 0,
    },
  }, parent);
  return within(span, next);
};
