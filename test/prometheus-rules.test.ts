/**
 * deploy/prometheus/alerts.yaml against a real promtool (Debian's `prometheus` package): the
 * rules are valid, and alerts.test.yaml (each alert firing on synthetic series, and staying quiet
 * on neighbours that should not fire it) passes. Skips with a message when promtool is not
 * installed, unless CI=true.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusAvailable, promtool } from './helpers/prometheus.js';

const dir = resolve(import.meta.dirname, '..', 'deploy', 'prometheus');
const available = prometheusAvailable('prometheus rule tests');

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
const groups = (parse(readFileSync(join(dir, 'alerts.yaml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);

describe('deploy/prometheus/alerts.yaml', () => {
  it('has the alerts the issue asks for, each with a severity, a summary and a description', () => {
    const names = alerts.map((a) => a.alert);
    for (const name of [
      'LLMGatewayDown',
      'LLMGatewayHighErrorRatio',
      'LLMGatewayCircuitBreakerOpen',
      'LLMGatewayRateLimitFailOpen',
      'LLMGatewayBudgetNearLimit',
      'LLMGatewayTimeToFirstTokenHigh',
      'LLMGatewayEventLoopDelayHigh',
      'LLMGatewayRequestLogDropping',
    ]) {
      expect(names).toContain(name);
    }
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description?.length ?? 0, a.alert).toBeGreaterThan(40);
    }
  });

  it('every alert is unit-tested in alerts.test.yaml', () => {
    const tests = readFileSync(join(dir, 'alerts.test.yaml'), 'utf8');
    const untested = alerts.filter((a) => !new RegExp(`alertname: ${a.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(tests)).map((a) => a.alert);
    expect(untested).toEqual([]);
  });

  it.skipIf(!available)('promtool check rules accepts it', async () => {
    const { code, output } = await promtool(['check', 'rules', 'alerts.yaml'], dir);
    expect(code, output).toBe(0);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  }, 40_000);

  it.skipIf(!available)('promtool test rules: each alert fires on its synthetic series and stays quiet otherwise', async () => {
    const { code, output } = await promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    expect(code, output).toBe(0);
    expect(output).toContain('SUCCESS');
  }, 40_000);
});
