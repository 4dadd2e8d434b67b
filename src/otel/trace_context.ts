/**
 * W3C Trace Context (`traceparent`, `tracestate`) as a propagator: how the
 * `./otel` middleware carries a trace in a job's `custom`, whatever global
 * propagator the application set, so any client that reads W3C fields from
 * `custom` (Go, Ruby) joins the trace.
 *
 * @module
 */

import {
  createTraceState,
  isSpanContextValid,
  type SpanContext,
  type TextMapPropagator,
  trace,
} from "@opentelemetry/api";

const TRACEPARENT = "traceparent";
const TRACESTATE = "tracestate";
/** version-traceid-parentid-flags; versions after 00 may add fields after a dash. */
const FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The W3C Trace Context propagator (https://www.w3.org/TR/trace-context/). */
export const traceContext: TextMapPropagator = {
  inject(context, carrier, setter) {
    const span = trace.getSpanContext(context);
    if (span === undefined || !isSpanContextValid(span)) return;
    const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
    setter.set(carrier, TRACEPARENT, `00-${span.traceId}-${span.spanId}-${flags}`);
    const state = span.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE, state);
  },
  extract(context, carrier, getter) {
    const header = joined(getter.get(carrier, TRACEPARENT));
    const m = header === undefined ? null : FORMAT.exec(header.trim());
    if (m === null || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined)) return context;
    const span: SpanContext = {
      traceId: m[2]!,
      spanId: m[3]!,
      traceFlags: parseInt(m[4]!, 16),
      isRemote: true,
    };
    if (!isSpanContextValid(span)) return context; // all-zero ids
    const state = joined(getter.get(carrier, TRACESTATE));
    if (state) span.traceState = createTraceState(state);
    return trace.setSpanContext(context, span);
  },
  fields: () => [TRACEPARENT, TRACESTATE],
};

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}
