/**
 * `serve --workers N` merges the workers' registries (prom-client AggregatorRegistry): counters
 * sum, but a gauge must not (issue 10 §4b: two open Redis breakers read as 2, "half-open";
 * event-loop delay came out ×N).
 */
import { AggregatorRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';

async function aggregated(workers: GatewayMetrics[]): Promise<string> {
  const json = await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()));
  return AggregatorRegistry.aggregate(json).metrics();
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1]);
}

describe('metrics across workers', () => {
  it('every gauge has an aggregator other than sum; the Redis breaker state of two open workers stays 1 (open)', async () => {
    const workers = [0, 1, 2].map(() => new GatewayMetrics({ version: 't', deployments: ['d'] }));
    for (const w of workers.slice(0, 2)) w.stateBreakerTransition({ from: 'closed', to: 'open' });
    const text = await aggregated(workers);
    expect(value(text, 'gateway_state_breaker_state')).toBe(1);
    expect(value(text, 'gateway_build_info{version="t",node_version="' + process.version + '"}')).toBe(1);
    // No gateway gauge of a state is summed; only counts of things each worker holds add up
    // (requests waiting in its own queues).
    const additive = new Set(['gateway_queue_depth']);
    const gauges = (await workers[0]?.registry.getMetricsAsJSON())?.filter((m) => String(m.type) === 'gauge' && m.name.startsWith('gateway_') && !additive.has(m.name)) ?? [];
    expect(gauges.length).toBeGreaterThan(3);
    for (const g of gauges) expect([g.name, g.aggregator]).not.toEqual([g.name, 'sum']);
  });

  it("sums the queue depth: each worker's waiters are its own", async () => {
    const workers = [0, 1].map(() => new GatewayMetrics({ version: 't', deployments: ['d'] }));
    for (const w of workers) w.queueEntered({ reason: 'pool', priority: 'low' });
    expect(value(await aggregated(workers), 'gateway_queue_depth{reason="pool",priority="low"}')).toBe(2);
  });
});
