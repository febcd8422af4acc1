// Types for report.mjs, so the TypeScript test can import it.
export interface GoalResult {
  readonly id: string;
  readonly text: string;
  /** Our gateway's number, undefined when not measured. */
  readonly ours: string | undefined;
  /** The floor's number for the same goal, undefined when not measured. */
  readonly floor: string | undefined;
  /** undefined: not measured, or (with `why`) not judgeable from this run. */
  readonly met: boolean | undefined;
  readonly why?: string;
}
export type BenchResults = Record<string, any>;
export const goals: ReadonlyArray<{ id: string; text: string }>;
export function fmtUs(us: number | undefined): string;
export function fmtBytes(b: number | undefined): string;
export function mdTable(header: string[], rows: string[][]): string;
export function stepAt(results: BenchResults, target: string, rate: number): any;
export function added(results: BenchResults, target: string, rate: number, key: 'p50' | 'p99'): number | undefined;
export function evaluateGoals(results: BenchResults): GoalResult[];
export function renderReport(results: BenchResults, notes?: string): string;
export function renderSvg(results: BenchResults): string;
export function reportFiles(results: BenchResults, notes?: string): Record<string, string>;
export function renderConsoleTable(results: BenchResults): string;
