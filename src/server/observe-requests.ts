import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { Logger } from '../logger.js';
import { requestDuration, requests, statementsPerOperation } from '../observability/metrics.js';
import { currentScope, runInScope, type RequestScope } from '../observability/request-scope.js';
import { context, nameActiveSpan, startServerSpan, SpanStatusCode } from '../observability/tracing.js';

/**
 * One place that watches every GraphQL request: its deadline, its server span (continuing the
 * caller's `traceparent`), its metrics and its access-log line. The express middleware opens the
 * request's scope (after the body is parsed, so the scope survives into Apollo); the Apollo plugin
 * fills in the operation name and outcome and turns a store outage that failed the whole
 * operation into HTTP 503.
 */
export function observeRequests(log: Logger, options: { requestTimeoutMs: number }) {
  const middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    const scope: RequestScope = { deadline: Date.now() + options.requestTimeoutMs, operation: '', statements: 0, outcome: 'ok' };
    const traced = startServerSpan(`${req.method} /graphql`, req.headers);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const outcome = res.writableFinished ? scope.outcome : 'aborted';
      const operation = scope.operation || (req.method === 'GET' ? 'landing page' : 'unparsed');
      if (scope.operation) {
        requests.inc({ operation, outcome });
        requestDuration.observe({ operation, outcome }, seconds);
        statementsPerOperation.observe({ operation }, scope.statements);
      }
      if (traced) {
        traced.span.setAttribute('http.response.status_code', res.statusCode);
        if (outcome !== 'ok') traced.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        traced.span.end();
      }
      log.info(
        {
          operation,
          outcome,
          status: res.statusCode,
          durationMs: Math.round(seconds * 10_000) / 10,
          statements: scope.statements,
          traceId: traced?.span.spanContext().traceId ?? traceIdOf(req.headers.traceparent),
        },
        'request',
      );
    });
    const go = () => runInScope(scope, next);
    if (traced) context.with(traced.ctx, go);
    else go();
  };

  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      const scope = currentScope();
      return {
        async didResolveOperation({ operationName, operation }) {
          if (!scope || !operation) return;
          scope.operation = operationName ?? rootFields(operation);
          nameActiveSpan(`graphql ${operationName ? `${operation.operation} ${operationName}` : scope.operation}`, {
            'graphql.operation.type': operation.operation,
            'graphql.operation.name': scope.operation,
          });
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          const codes = (errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          if (scope) scope.outcome = codes[0] ?? 'ok';
          const nothingAnswered = !data || Object.values(data).every((v) => v === null);
          if (codes.includes('STORE_UNAVAILABLE') && nothingAnswered) response.http.status = 503;
        },
      };
    },
  };

  return { middleware, plugin };
}

/** An anonymous operation is named by its root fields (a bounded set: the schema's). */
function rootFields(operation: OperationDefinitionNode): string {
  const names = operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '…'));
  return `${operation.operation} ${[...new Set(names)].sort().slice(0, 3).join(',')}`;
}

function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  const m = typeof traceparent === 'string' ? /^[\da-f]{2}-([\da-f]{32})-/.exec(traceparent) : null;
  return m?.[1];
}
