import type { Logger } from '../logger.js';
import { SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set.
 * Spans are made by hand at three places (a GraphQL operation, a SQL statement, a remote call), so
 * no auto-instrumentation is loaded; while tracing is off those places cost one boolean check.
 */

let enabled = false;
const tracer = () => trace.getTracer('integrity-subgraph');

export function tracingEnabled(): boolean {
  return enabled;
}

/** Longest a stop waits for the last traces to reach the collector; past it they are dropped (and said so). */
export const TRACES_FLUSH_BOUND_MS = 2000;

type SpanExporter = import('@opentelemetry/sdk-trace-node').SpanExporter;

/**
 * The exporter, saying when the collector stops taking traces: one warning when exports start
 * failing, one line when they succeed again, nothing per failed batch.
 */
function reportingFailures(inner: SpanExporter, where: string, log?: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        const failed = result.code !== 0;
        if (failed && !failing)
          log?.warn(
            { collector: where, err: result.error },
            'the OTLP collector does not take traces: they are dropped until it does (logged once)',
          );
        if (!failed && failing) log?.info({ collector: where }, 'the OTLP collector takes traces again');
        failing = failed;
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * Starts the SDK when configured (standard OTEL_* variables); returns what flushes and stops it,
 * within TRACES_FLUSH_BOUND_MS whatever the collector does.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env, log?: Logger): Promise<() => Promise<void>> {
  const where = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!where) return async () => undefined;
  // The trace SDK alone, not @opentelemetry/sdk-node: that one brings every exporter (gRPC,
  // protobuf, logs, metrics, Zipkin), 147 MB of production dependencies and 88 MB of the image,
  // when only traces over OTLP/HTTP are sent.
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } = await import(
    '@opentelemetry/resources'
  );
  // What NodeSDK described the service with: the defaults, OTEL_RESOURCE_ATTRIBUTES, the host and
  // the process, then the service name.
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector, hostDetector, processDetector] }))
    .merge(resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'integrity-subgraph' }));
  const sdk = new NodeTracerProvider({
    resource,
    // Batching as NodeSDK did; OTEL_BSP_* tune it.
    spanProcessors: [new BatchSpanProcessor(reportingFailures(new OTLPTraceExporter(), where, log))],
  });
  // The AsyncLocalStorage context manager and the W3C trace-context and baggage propagators.
  sdk.register();
  enabled = true;
  return async () => {
    enabled = false;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'late'>((res) => {
      timer = setTimeout(() => res('late'), TRACES_FLUSH_BOUND_MS);
    });
    const outcome = await Promise.race([
      sdk.shutdown().then(
        () => 'flushed' as const,
        () => 'failed' as const,
      ),
      bound,
    ]);
    clearTimeout(timer);
    if (outcome === 'late')
      log?.warn({ collector: where, boundMs: TRACES_FLUSH_BOUND_MS }, 'the last traces did not reach the OTLP collector in time: dropped');
  };
}

/** Runs `fn` in a child span of the active one (when tracing is on). */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, kind: SpanKind = SpanKind.CLIENT): Promise<T> {
  if (!enabled) return fn();
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn();
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.name : 'error' });
      throw e;
    } finally {
      span.end();
    }
  });
}

/**
 * A server span for an incoming request, continuing the caller's trace when its headers carry a
 * `traceparent`. Returns undefined while tracing is off.
 */
export function startServerSpan(
  name: string,
  headers: Record<string, string | string[] | undefined>,
): { span: Span; ctx: Context } | undefined {
  if (!enabled) return undefined;
  const parent = propagation.extract(context.active(), headers);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Names the active span once what it is doing is known (a GraphQL operation, after parsing). */
export function nameActiveSpan(name: string, attributes: Attributes): void {
  if (!enabled) return;
  const span = trace.getActiveSpan();
  span?.updateName(name);
  span?.setAttributes(attributes);
}

export { context, SpanKind, SpanStatusCode };
