// examples/quickstart/telemetry.ts: spans and metrics for every push and every job
import { metrics, trace } from "@opentelemetry/api";
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { Producer, Worker } from "@faktory-ts/faktory";
import { jobTelemetry, pushTelemetry } from "@faktory-ts/faktory/otel";

// Any OpenTelemetry SDK set up as usual (here: to the console; OTLP exporters in production).
const exporter = new ConsoleSpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }),
);
const reader = new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter() });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

await using producer = await Producer.connect({ middleware: [pushTelemetry()] });
const worker = new Worker({ queues: ["mail"], middleware: [jobTelemetry()] }); // first: it times the rest
void [producer, worker];
