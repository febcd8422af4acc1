/**
 * The Dockerfile and Kubernetes manifests are not run here (no Docker or cluster on CI), so
 * this test keeps them honest: the ConfigMap's config passes the schema, probes hit the real
 * health paths on the port the config binds, preStop matches the drain delay, the termination
 * grace outlasts the drain, every ${env:…} the config needs is provided from the Secret.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';

const root = resolve(import.meta.dirname, '..');
const dir = join(root, 'deploy', 'kubernetes');
type Json = any;

function manifest(file: string): Json {
  const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
  expect(docs).toHaveLength(1);
  return docs[0]?.toJS();
}

const configMap = manifest('configmap.yaml');
const deployment = manifest('deployment.yaml');
const service = manifest('service.yaml');
const secret = manifest('secret.example.yaml');
const configText: string = configMap.data['config.yaml'];
const container = deployment.spec.template.spec.containers[0];
const envNames: string[] = container.env.map((e: Json) => e.name);
const placeholderEnv = Object.fromEntries(envNames.map((n) => [n, 'placeholder-value']));
const config = parseConfigText(configText, placeholderEnv, 'deploy/kubernetes/configmap.yaml');
const defaults = configSchema.parse({ deployments: {}, models: {} }).server;

describe('deployment artefacts', () => {
  it('the ConfigMap config is valid, binds all interfaces, and every ${env:…} it uses comes from the Secret', () => {
    expect(config.server.host).toBe('0.0.0.0');
    const referenced = [...configText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
    expect(referenced.length).toBeGreaterThan(0);
    for (const name of referenced) expect(envNames).toContain(name);
    for (const e of container.env) {
      expect(e.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
    }
    expect(kustomizeResources()).toEqual(expect.arrayContaining(['configmap.yaml', 'deployment.yaml', 'service.yaml']));
  });

  it('probes: readiness on /ready, liveness on /health, on the named port the config listens on', () => {
    const port = container.ports.find((p: Json) => p.name === 'http');
    expect(port.containerPort).toBe(config.server.port);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const mount = container.volumeMounts.find((m: Json) => m.name === 'config');
    expect(container.args).toEqual(expect.arrayContaining(['serve', '--config', `${mount.mountPath}/config.yaml`]));
    expect(deployment.spec.template.spec.volumes.find((v: Json) => v.name === 'config').configMap.name).toBe(configMap.metadata.name);
  });

  it('drain timing: preStop sleeps drainDelayMs, and the termination grace outlasts preStop + shutdownGraceMs', () => {
    const sleep = container.lifecycle.preStop.exec.command;
    expect(sleep[0]).toBe('sleep');
    const preStopMs = Number(sleep[1]) * 1000;
    expect(preStopMs).toBe(config.server.drainDelayMs);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + config.server.shutdownGraceMs);
    // The manifest's values are the documented defaults, so users who drop them keep the timing.
    expect(config.server.drainDelayMs).toBe(defaults.drainDelayMs);
    expect(config.server.shutdownGraceMs).toBe(defaults.shutdownGraceMs);
    expect(config.server.port).toBe(defaults.port);
    expect(config.server.keepAliveTimeoutMs).toBe(defaults.keepAliveTimeoutMs);
  });

  it('the Dockerfile runs node directly in exec form as a non-root user, on the configured port', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const lines = dockerfile.split('\n').filter((l) => !l.startsWith('#'));
    const entrypoint = lines.find((l) => l.startsWith('ENTRYPOINT'));
    expect(JSON.parse(entrypoint?.slice('ENTRYPOINT'.length) ?? 'null')).toEqual(['node', 'dist/main.js']);
    expect(lines.find((l) => l.startsWith('USER'))).toBe('USER node');
    expect(lines.find((l) => l.startsWith('EXPOSE'))).toBe(`EXPOSE ${defaults.port}`);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(lines.filter((l) => l.startsWith('FROM')).length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toContain(`127.0.0.1:${defaults.port}/health`);
    // The Deployment's args replace CMD; both start `serve` with the mounted config.
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD'))?.slice(3) ?? 'null');
    expect(cmd.slice(0, 3)).toEqual(container.args.slice(0, 3));
  });
});

function kustomizeResources(): string[] {
  return parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')).resources;
}
