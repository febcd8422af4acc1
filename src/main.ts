#!/usr/bin/env node
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { offsetClock, systemClock, type Clock } from './clock.js';
// Not config/load.js: that brings the schema (zod, yaml), and serve holds the young generation before it loads.
import { ConfigError } from './config/config-error.js';
import { version } from './version.js';
import { capYoungGeneration, holdYoungGeneration } from './young-generation.js';

// Each command imports what it runs when it runs, so a process loads only its own command's
// code: `serve` never loads the demo or the fake upstreams, and a cluster primary never loads
// the HTTP server (bench/micro/startup-memory.mjs measures what that saves).

const usage = `llm-gateway ${version}

Usage:
  llm-gateway serve --config FILE [--host H] [--port P] [--workers N] [--watch-config]
                                                          run the gateway (N processes on one port;
                                                          SIGHUP reloads the config, SIGTERM drains)
  llm-gateway demo [--console] [--port P]                 run the self-contained demo (no network, no keys);
                                                          --console: then keep serving the web console at /ui
  llm-gateway check-config FILE                           validate a config file; exit 1 listing every problem
  llm-gateway audit verify|export --config FILE [...]     check or export the audit log (llm-gateway audit --help)
  llm-gateway fake-upstream --dialect openai|triton|gemini|ollama|bedrock|anthropic [--host H] [--port P]
                                                          run a protocol-faithful fake provider
  llm-gateway fake-upstream --dialect vllm-sim [--host H] [--port P] [--model M] [--speed N]
                [--prefill-ms-per-token N] [--decode-base-ms N] [--decode-ms-per-seq N] [--max-batch N]
                [--kv-capacity-tokens N] [--prefix-cache-blocks N] [--max-waiting N]
                [--default-output-tokens N] [--max-output-tokens N]
                                                          run a simulated vLLM server (batching, KV and
                                                          prefix cache, /metrics)
  llm-gateway --version | --help
`;

/** CLI entry: parses arguments and runs one command; exit codes 0 ok, 1 failure, 2 usage. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'demo':
      return demo(rest);
    case 'check-config':
      return checkConfig(rest);
    case 'audit':
      return (await import('./control/audit-cli.js')).auditCommand(rest);
    case 'fake-upstream':
      return fakeUpstream(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${version}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${usage}`);
      return 2;
  }
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { console: { type: 'boolean', default: false }, port: { type: 'string' } } });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    process.stderr.write(`--port: must be a port number, got ${values.port}\n`);
    return 2;
  }
  return (await import('./demo/run-demo.js')).runDemo({ console: values.console, ...(port === undefined ? {} : { port }) });
}

async function serve(args: string[]): Promise<number> {
  // Before the gateway's modules load: serveProcess lets it grow once listening (young-generation.ts).
  holdYoungGeneration();
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      workers: { type: 'string', short: 'w' },
      'watch-config': { type: 'boolean', default: false },
    },
  });
  if (!values.config) {
    process.stderr.write('serve needs --config FILE\n');
    return 2;
  }
  const options = {
    configPath: values.config,
    watchConfig: values['watch-config'],
    ...(values.host ? { host: values.host } : {}),
    ...(values.port ? { port: parsePort(values.port) } : {}),
  };
  const workers = values.workers === undefined ? 1 : parseWorkers(values.workers);
  // Tests only: an offset clock (R-07, one replica's clock 30 s ahead).
  const clock = clockOptions(process.env);
  if (cluster.isWorker) return (await import('./cluster/worker.js')).runWorker({ ...options, extra: clock });
  if (workers > 1) {
    const { runPrimary } = await import('./cluster/primary.js');
    // The primary answers every worker's limiter calls, request by request: once its modules
    // are loaded its young generation may grow as a worker's does (a worker's serveProcess does that).
    capYoungGeneration();
    return runPrimary({ ...options, workers });
  }
  return (await import('./lifecycle/serve-process.js')).serveProcess({ ...options, gateway: () => clock });
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`invalid --workers: ${value} (1-256)`);
  return n;
}

/**
 * LLM_GATEWAY_TEST_CLOCK_OFFSET_MS (test-only, undocumented for users): shifts this process's
 * clock so a multi-process test can skew one replica (L-05, R-07). Limits on Redis read Redis's
 * clock, so the skew must change nothing.
 */
function clockOptions(env: NodeJS.ProcessEnv): { clock?: Clock } {
  const raw = env.LLM_GATEWAY_TEST_CLOCK_OFFSET_MS;
  if (raw === undefined || raw === '') return {};
  const offset = Number(raw);
  if (!Number.isFinite(offset)) throw new UsageError(`LLM_GATEWAY_TEST_CLOCK_OFFSET_MS must be a number of ms, got ${raw}`);
  return { clock: offsetClock(systemClock, offset) };
}

async function checkConfig(args: string[]): Promise<number> {
  const file = args[0];
  if (!file) {
    process.stderr.write('check-config needs a FILE\n');
    return 2;
  }
  // The same load, validation and compile as serve, without listening or connecting.
  const config = await (await import('./lifecycle/compile-gateway.js')).checkConfigFile(file);
  process.stdout.write(`${file}: OK (${Object.keys(config.deployments).length} deployments, ${Object.keys(config.models).length} models, ${Object.keys(config.tenants).length} tenants)\n`);
  return 0;
}

async function fakeUpstream(args: string[]): Promise<number> {
  const sim = await import('./testing/fake-upstream/vllm-sim/cli.js');
  const { values } = parseArgs({ args, options: { dialect: { type: 'string', default: 'openai' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, ...sim.vllmSimFlags } });
  const dialects = ['openai', 'triton', 'gemini', 'ollama', 'bedrock', 'anthropic', 'vllm-sim'] as const;
  const dialect = dialects.find((d) => d === values.dialect);
  if (dialect === undefined) {
    process.stderr.write(`--dialect must be one of ${dialects.join(', ')}\n`);
    return 2;
  }
  let server: { close(): Promise<void> };
  if (dialect === 'vllm-sim') {
    try {
      server = await sim.runVllmSimCli({ host: values.host, port: parsePort(values.port), params: sim.vllmSimParamsFromFlags(values) });
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
  } else {
    if (sim.hasVllmSimFlags(values)) throw new UsageError('the simulator flags (--model, --speed, ...) need --dialect vllm-sim');
    const { runFakeUpstreamCli } = await import('./testing/fake-upstream/cli.js');
    server = await runFakeUpstreamCli({ dialect, host: values.host, port: parsePort(values.port) });
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`invalid port: ${value}`);
  return port;
}

class UsageError extends Error {}

/** How long a finished command waits for open handles to close by themselves before it exits. */
const exitGraceMs = 1_000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The command's work is done (a server has drained and flushed what it keeps). Whatever a
    // library still holds open cannot keep the process alive past a short grace: the OTLP
    // exporter, for one, retries a dead collector on timers no one outside it can cancel.
    setTimeout(() => process.exit(code), exitGraceMs).unref();
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    } else if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`llm-gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
