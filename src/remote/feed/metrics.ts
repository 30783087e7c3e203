import { Counter, Gauge, register } from 'prom-client';

/**
 * Change-feed metrics on prom-client's default registry (served at /metrics). Registered once
 * per process, whatever the number of feeds started in it (tests start several).
 */
function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

const labelNames = ['transport'] as const;

export const feedMetrics = {
  applied: metric(
    'integrity_change_events_applied_total',
    () => new Counter({ name: 'integrity_change_events_applied_total', help: 'Change events written to the remote_ref cache', labelNames }),
  ),
  ignored: metric(
    'integrity_change_events_ignored_total',
    () =>
      new Counter({
        name: 'integrity_change_events_ignored_total',
        help: 'Change events acknowledged without a write: older than the cached state, repeated, or for keys nobody refers to',
        labelNames,
      }),
  ),
  deadLettered: metric(
    'integrity_change_events_dead_lettered_total',
    () =>
      new Counter({
        name: 'integrity_change_events_dead_lettered_total',
        help: 'Change events that could not be read or applied and were moved to the dead letter',
        labelNames,
      }),
  ),
  lag: metric(
    'integrity_change_feed_lag_seconds',
    () =>
      new Gauge({
        name: 'integrity_change_feed_lag_seconds',
        help: 'Time between the source commit of the newest change event in the last applied batch and its application',
        labelNames,
      }),
  ),
};

export type Transport = 'nats' | 'redis';
