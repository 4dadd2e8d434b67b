/**
 * OpenTelemetry through `@faktory-ts/faktory/otel`: pushes a job and runs it
 * with spans and metrics on, then prints the spans (one trace: the push's
 * span is the run's parent) and the count of jobs processed.
 *
 *   deno run -A examples/otel.ts
 *   bun run examples/otel.ts
 *   FAKTORY_URL=tcp://:password@host:7419 node build/node/examples/otel.js
 *
 * An application registers an SDK that exports (OTLP) instead of these
 * in-memory exporters; see the README's OpenTelemetry section.
 */
import { metrics, trace } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { defineJob, Producer, Worker } from "../mod.ts";
import { jobTelemetry, pushTelemetry } from "../src/otel.ts";

const spans = new InMemorySpanExporter();
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
);
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const Hello = defineJob<[name: string]>("Hello", { queue: "otel-example" });
const worker = new Worker({ queues: ["otel-example"], middleware: [jobTelemetry()] });
worker.register(Hello, () => void worker.stop()); // one job, then stop
const running = worker.run();
{
  await using producer = await Producer.connect({ poolSize: 1, middleware: [pushTelemetry()] });
  await producer.perform(Hello, ["otel"]);
}
await running;

for (const span of spans.getFinishedSpans()) {
  const { traceId, spanId } = span.spanContext();
  // deno-lint-ignore no-console
  console.log(
    `${span.name}: trace ${traceId} span ${spanId} parent ${
      span.parentSpanContext?.spanId ?? "none"
    }`,
  );
}
await reader.forceFlush();
const processed = exporter.getMetrics().at(-1)?.scopeMetrics[0]?.metrics
  .find((m) => m.descriptor.name === "faktory.jobs.processed")?.dataPoints[0]?.value;
// deno-lint-ignore no-console
console.log(`faktory.jobs.processed: ${processed}`);
await reader.shutdown();
