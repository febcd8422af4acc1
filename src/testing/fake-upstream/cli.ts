import { FakeUpstream } from './fake-upstream.js';
import type { Behaviour, FakeDialectName } from './script.js';

/**
 * Backs `llm-gateway fake-upstream --dialect openai|triton|gemini|ollama|bedrock|anthropic --port P`: starts one fake and prints
 * its base URL on stdout. Rejects if the port cannot be bound. The caller owns shutdown
 * (`close()` on SIGINT/SIGTERM).
 */
export async function runFakeUpstreamCli(args: {
  dialect: FakeDialectName;
  host: string;
  port: number;
  behaviour?: Partial<Behaviour>;
}): Promise<FakeUpstream> {
  const fake = await FakeUpstream.start({
    dialect: args.dialect,
    host: args.host,
    port: args.port,
    ...(args.behaviour === undefined ? {} : { behaviour: args.behaviour }),
  });
  process.stdout.write(`fake ${args.dialect} upstream listening on ${fake.baseUrl}\n`);
  return fake;
}
