// A Prometheus metric whose values are read at scrape time (from the
// pollers' latest listings, from the desired states), set afresh each scrape.
import { Counter, Gauge, type Registry } from 'prom-client';

export type SetValue = (labels: Record<string, string>, v: number) => void;

export function collectedMetric(
  registry: Registry,
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  labelNames: string[],
  fill: (set: SetValue) => void,
): void {
  const Metric = kind === 'counter' ? Counter : Gauge;
  new Metric({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Counter | Gauge) {
      this.reset();
      fill((labels, v) => (this as Counter).inc(labels, v));
    },
  });
}
