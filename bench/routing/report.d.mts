// Types for report.mjs, so the TypeScript tests can import it.
export type RoutingResults = Record<string, any>;
export interface GoalResult {
  readonly id: string;
  readonly text: string;
  readonly value: string | undefined;
  readonly met: boolean | undefined;
}
export const rowFields: readonly string[];
export const requestFields: readonly string[];
export const goals: ReadonlyArray<{ id: string; text: string }>;
export function fmtMs(ms: number | undefined | null): string;
export function fmtPct(share: number | undefined): string;
export function completed(row: readonly unknown[]): boolean;
export function summarizeVariant(results: RoutingResults, variant: Record<string, any>): Record<string, any>;
export function summarizeAll(results: RoutingResults): Array<Record<string, any>>;
export function evaluateGoals(results: RoutingResults): GoalResult[];
export function renderSection(results: RoutingResults, notes?: string): string;
export function replaceSection(doc: string, section: string): string;
export function extractSection(doc: string): string | undefined;
export function renderSvg(results: RoutingResults): string;
export function renderConsoleTable(results: RoutingResults): string;
