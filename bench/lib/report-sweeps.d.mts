// Types for report-sweeps.mjs, so the TypeScript test can import it.
import type { BenchResults, GoalResult } from './report.mjs';

export const sweepLimits: {
  readonly keysFlatUs: number;
  readonly routesCpuFactor: number;
  readonly streamBytes: number;
  readonly streams: number;
  readonly bodyCpuSlopeFactor: number;
  readonly bodyLoopMs: number;
};
export function keysAdded(step: any, key: 'p50' | 'p99'): number;
export function perKey(steps: any[], field: 'rss' | 'heapUsed'): number | undefined;
export function bodySlopes(steps: any[]): Array<{ from: number; to: number; usPerKB: number }>;
export function evaluateSweeps(results: BenchResults): GoalResult[];
export function renderSweepsSection(results: BenchResults): string;
export function niceScale(max: number): { max: number; step: number };
export function lineChart(spec: any): string;
export function renderSweepSvgs(results: BenchResults): Record<string, string>;
