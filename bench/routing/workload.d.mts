// Types for workload.mjs, so the TypeScript tests can import it.
export interface LengthShape {
  readonly median: number;
  readonly sigma: number;
  readonly min: number;
  readonly max: number;
}
export interface Slo {
  readonly ttftMs: number;
  readonly tpotMs: number;
}
export interface WorkloadOptions {
  readonly durationMs: number;
  readonly maxRequests: number;
  readonly baseRatePerSec: number;
  readonly burstRatePerSec: number;
  readonly meanOffMs: number;
  readonly meanOnMs: number;
  readonly tenants: number;
  readonly systemPromptsPerTenant: number;
  readonly interactiveShare: number;
  readonly systemPromptTokens: LengthShape;
  readonly interactivePromptTokens: LengthShape;
  readonly interactiveOutputTokens: LengthShape;
  readonly batchPromptTokens: LengthShape;
  readonly batchOutputTokens: LengthShape;
  readonly slos: readonly Slo[];
}
export interface WorkloadRequest {
  readonly id: number;
  readonly atMs: number;
  readonly tenant: number;
  readonly kind: 'interactive' | 'batch';
  readonly systemPrompt: number;
  readonly user: string;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly slo?: Slo;
}
export interface Workload {
  readonly seed: number;
  readonly options: WorkloadOptions;
  readonly systemPrompts: ReadonlyArray<{ readonly tenant: number; readonly tokens: number; readonly text: string }>;
  readonly requests: readonly WorkloadRequest[];
}
export const defaultWorkloadOptions: WorkloadOptions;
export function seededRandom(seed: number): () => number;
export function lognormalInt(random: () => number, shape: LengthShape): number;
export function generateWorkload(seed: number, overrides?: Partial<WorkloadOptions>): Workload;
export function requestBody(workload: Workload, request: WorkloadRequest, model: string): string;
export function sloHeaders(request: WorkloadRequest): Record<string, string>;
