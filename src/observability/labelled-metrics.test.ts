import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from './labelled-metrics.js';

/** Exposition lines, sorted, with each line's labels sorted, so label order does not matter. */
function normalise(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^([^{ ]+)(?:\{(.*)\})? (.*)$/.exec(line);
      if (!m || line.startsWith('#')) return line;
      const labels = (m[2] ?? '').split(/,(?=[a-z_]+=)/).filter(Boolean).sort().join(',');
      return `${m[1]}{${labels}} ${m[3]}`;
    })
    .sort();
}

describe('LabelledHistogram and LabelledCounter', () => {
  it('render exactly what prom-client renders for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const ours = new Registry();
    const theirs = new Registry();
    const h = new LabelledHistogram('x_seconds', 'help text', ['route', 'model'], buckets, ours);
    const c = new LabelledCounter('x_total', 'count help', ['model', 'outcome'], ours);
    const ph = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['route', 'model'], buckets, registers: [theirs] });
    const pc = new Counter({ name: 'x_total', help: 'count help', labelNames: ['model', 'outcome'], registers: [theirs] });
    const samples: Array<[string, string, number]> = [
      ['/a', 'm1', 0.0005],
      ['/a', 'm1', 0.001],
      ['/a', 'm1', 0.05],
      ['/a', 'm2', 3],
      ['/b', 'm1', 0.2],
    ];
    for (const [route, model, v] of samples) {
      h.labels(route, model).observe(v);
      ph.observe({ route, model }, v);
      c.labels(model, 'success').inc();
      pc.inc({ model, outcome: 'success' });
    }
    c.labels('m1', 'error').inc(5);
    pc.inc({ model: 'm1', outcome: 'error' }, 5);
    expect(normalise(await ours.metrics())).toEqual(normalise(await theirs.metrics()));
  });

  it('keeps one series per label set and resets', async () => {
    const reg = new Registry();
    const c = new LabelledCounter('y_total', 'h', ['a'], reg);
    c.labels('one').inc();
    c.labels('one').inc(2);
    c.labels('two').inc();
    const text = await reg.metrics();
    expect(text).toContain('y_total{a="one"} 3');
    expect(text).toContain('y_total{a="two"} 1');
    reg.resetMetrics();
    expect(await reg.metrics()).not.toContain('y_total{');
  });
});
