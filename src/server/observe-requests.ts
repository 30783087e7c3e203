import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { GraphQLContext } from '../../resolvers/context.js';
import type { Logger } from '../logger.js';
import { requestDuration, requests, statementsPerOperation } from '../observability/metrics.js';
import { OPERATION_LABEL, operationLabel, outcomeLabel } from '../observability/operation-label.js';
import { currentScope, runInScope, type RequestScope } from '../observability/request-scope.js';
import { context, nameActiveSpan, startServerSpan, SpanStatusCode } from '../observability/tracing.js';

/** What the access log and metrics learn about one request beyond its scope. */
interface Observed {
  scope: RequestScope;
  traced: ReturnType<typeof startServerSpan>;
  /** The `operation` label, once known (operation-label.ts); unset: the request never reached GraphQL. */
  label?: string;
  /** Every plugin's didResolveOperation passed (limits, access control): the operation executes. */
  executed: boolean;
}

const REFUSALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);
/** A caller's operation name in the log and span: long enough to recognise, never a megabyte. */
const LOGGED_NAME = 100;

/**
 * One place that watches every GraphQL request: its deadline, its server span (continuing the
 * caller's `traceparent`), its metrics and its access-log line. `start` comes first on /graphql so
 * a body refused before GraphQL runs is still counted; `enter` opens the request's scope after the
 * body is parsed, so the scope survives into Apollo; the Apollo plugin fills in the operation name
 * and outcome and turns a store outage that failed the whole operation into HTTP 503.
 *
 * Metric labels never carry what a caller sent unchecked: the operation's name becomes a label only
 * once the operation passed the limits and access control (executionDidStart runs after every
 * didResolveOperation) and was sent with a valid token (in AUTH_MODE=jwt), capped by
 * operation-label.ts; others are `refused`, `invalid` or `other`. The outcome agrees with the HTTP status.
 */
export function observeRequests(log: Logger, options: { requestTimeoutMs: number; maxOperationLabels: number }) {
  const byRequest = new WeakMap<object, Observed>();
  const byScope = new WeakMap<RequestScope, Observed>();

  const start: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    const scope: RequestScope = { deadline: Date.now() + options.requestTimeoutMs, operation: '', statements: 0, outcome: 'ok' };
    const traced = startServerSpan(`${req.method} /graphql`, req.headers);
    const observed: Observed = { scope, traced, executed: false };
    byRequest.set(req, observed);
    byScope.set(scope, observed);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const outcome = res.writableFinished ? outcomeLabel(scope.outcome, res.statusCode) : 'aborted';
      // A body refused before GraphQL ran is a request too; the landing page is not an operation.
      const label = observed.label ?? (res.statusCode >= 400 ? OPERATION_LABEL.invalid : undefined);
      if (label) {
        requests.inc({ operation: label, outcome });
        requestDuration.observe({ operation: label, outcome }, seconds);
        statementsPerOperation.observe({ operation: label }, scope.statements);
      }
      if (traced) {
        traced.span.setAttribute('http.response.status_code', res.statusCode);
        if (outcome !== 'ok') traced.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        traced.span.end();
      }
      log.info(
        {
          operation: scope.operation || (req.method === 'GET' ? 'landing page' : 'unparsed'),
          label,
          outcome,
          status: res.statusCode,
          durationMs: Math.round(seconds * 10_000) / 10,
          statements: scope.statements,
          traceId: traced?.span.spanContext().traceId ?? traceIdOf(req.headers.traceparent),
        },
        'request',
      );
    });
    next();
  };

  const enter: RequestHandler = (req, _res, next) => {
    const observed = byRequest.get(req);
    if (!observed) return next();
    const go = () => runInScope(observed.scope, next);
    if (observed.traced) context.with(observed.traced.ctx, go);
    else go();
  };

  const plugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      const scope = currentScope();
      const observed = scope && byScope.get(scope);
      // A GraphQL request from here on (the landing page never gets here): `invalid` until it executes.
      if (observed) observed.label = OPERATION_LABEL.invalid;
      return {
        async didResolveOperation({ operationName, operation }) {
          if (!scope || !operation) return;
          scope.operation = capped(operationName ?? rootFields(operation));
          nameActiveSpan(`graphql ${operationName ? `${operation.operation} ${scope.operation}` : scope.operation}`, {
            'graphql.operation.type': operation.operation,
            'graphql.operation.name': scope.operation,
          });
        },
        async executionDidStart({ operationName, operation, contextValue }) {
          if (!observed || !operation) return;
          observed.executed = true;
          // What is open without a token (`_service`, introspection) must not let anyone fill the labels.
          const anonymous = contextValue.auth.mode === 'jwt' && !contextValue.auth.principal;
          observed.label = anonymous
            ? OPERATION_LABEL.other
            : operationLabel(operationName ?? rootFields(operation), options.maxOperationLabels);
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          const codes = (errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          if (scope) scope.outcome = codes[0] ?? 'ok';
          if (observed && !observed.executed && codes.some((c) => REFUSALS.has(c))) observed.label = OPERATION_LABEL.refused;
          const nothingAnswered = !data || Object.values(data).every((v) => v === null);
          if (codes.includes('STORE_UNAVAILABLE') && nothingAnswered) response.http.status = 503;
        },
      };
    },
  };

  return { start, enter, plugin };
}

/** An anonymous operation is named by its root fields (a bounded set: the schema's). */
function rootFields(operation: OperationDefinitionNode): string {
  const names = operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : 'fragment'));
  return `${operation.operation} ${[...new Set(names)].sort().slice(0, 3).join(',')}`;
}

function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  const m = typeof traceparent === 'string' ? /^[\da-f]{2}-([\da-f]{32})-/.exec(traceparent) : null;
  return m?.[1];
}

function capped(name: string): string {
  return name.length <= LOGGED_NAME ? name : `${name.slice(0, LOGGED_NAME)}…`;
}
