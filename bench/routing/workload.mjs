// The routing benchmark's workload: a seeded, replayable list of chat requests shaped like an
// inference fleet's traffic. The same seed and options give the same list (arrival times,
// tenants, prompt text, output lengths, SLOs), so every strategy is measured on identical input.
//
// - Arrivals: an on/off modulated Poisson process (bursts at `burstRatePerSec`, quiet spells at
//   `baseRatePerSec`, exponential spell lengths), bounded by `durationMs` and `maxRequests`.
// - Tenants: a few, with Zipf-like popularity, each with a few long shared system prompts (so a
//   server's prefix cache matters) and its own SLO; a request picks one of its tenant's prompts.
// - Two kinds: interactive (short prompts and answers, carrying TTFT/TPOT SLO headers) and
//   batch-like (longer prompts, long outputs, no SLO).
// - Lengths are lognormal (heavy right tail) and capped, in tokens; the prompt text is made of
//   4-character words (" xyz"), one token each by the usual chars/4 estimate.

/** The default shape; `generateWorkload(seed, overrides)` replaces any of these. */
export const defaultWorkloadOptions = Object.freeze({
  durationMs: 40_000,
  maxRequests: 2_000,
  baseRatePerSec: 3,
  burstRatePerSec: 16,
  /**
   * Mean length of a quiet spell and of a burst (exponentially distributed): short enough that a
   * 40 s run sees several of each, so its realized rate stays near the mean whatever the seed.
   */
  meanOffMs: 3_000,
  meanOnMs: 2_000,
  tenants: 4,
  systemPromptsPerTenant: 3,
  /** Share of requests that are interactive (SLO headers); the rest are batch-like. */
  interactiveShare: 0.75,
  systemPromptTokens: { median: 1_500, sigma: 0.35, min: 600, max: 4_000 },
  interactivePromptTokens: { median: 120, sigma: 1.0, min: 8, max: 3_000 },
  interactiveOutputTokens: { median: 80, sigma: 0.8, min: 4, max: 768 },
  batchPromptTokens: { median: 500, sigma: 0.9, min: 32, max: 4_000 },
  batchOutputTokens: { median: 400, sigma: 0.5, min: 64, max: 1_536 },
  /** Per-tenant SLOs, cycled over the tenants (ms). */
  slos: [
    { ttftMs: 750, tpotMs: 50 },
    { ttftMs: 1_500, tpotMs: 75 },
  ],
});

/** mulberry32: a small, fast 32-bit seeded PRNG; enough for workload shapes (not for secrets). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; `1 - u` keeps the log away from 0). */
function normal(random) {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A lognormal integer with the given median and shape, clamped to [min, max]. */
export function lognormalInt(random, { median, sigma, min, max }) {
  const x = Math.round(median * Math.exp(sigma * normal(random)));
  return Math.min(max, Math.max(min, x));
}

function exponential(random, mean) {
  return -Math.log(1 - random()) * mean;
}

const letters = 'abcdefghijklmnopqrstuvwxyz';

/** `tokens` words of 3 letters, each with a leading space: one token apiece by chars/4. */
function words(random, tokens) {
  let out = '';
  for (let i = 0; i < tokens; i++) {
    out += ` ${letters[Math.floor(random() * 26)]}${letters[Math.floor(random() * 26)]}${letters[Math.floor(random() * 26)]}`;
  }
  return out;
}

/** Zipf-like tenant weights (1, 1/2, 1/3, …), so one tenant is hot and its prompts hotter. */
function pickWeighted(random, weights) {
  const total = weights.reduce((s, w) => s + w, 0);
  let r = random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/**
 * The workload for `seed`: `{ seed, options, systemPrompts, requests }`. Each request:
 * `{ id, atMs, tenant, kind, systemPrompt, user, promptTokens, maxTokens, slo? }`, ordered by
 * `atMs`; `systemPrompt` indexes `systemPrompts` (shared text, kept once).
 */
export function generateWorkload(seed, overrides = {}) {
  const o = { ...defaultWorkloadOptions, ...overrides };
  // Separate streams, so changing one aspect (e.g. the rate) leaves the prompts' text the same.
  const textRandom = seededRandom(seed * 4 + 1);
  const arrivalRandom = seededRandom(seed * 4 + 2);
  const shapeRandom = seededRandom(seed * 4 + 3);

  const systemPrompts = [];
  const tenants = [];
  for (let t = 0; t < o.tenants; t++) {
    const prompts = [];
    for (let p = 0; p < o.systemPromptsPerTenant; p++) {
      const tokens = lognormalInt(textRandom, o.systemPromptTokens);
      prompts.push(systemPrompts.length);
      systemPrompts.push({ tenant: t, tokens, text: `You are assistant ${t}-${p} of tenant ${t}. Follow these rules:${words(textRandom, tokens)}` });
    }
    tenants.push({ prompts, slo: o.slos[t % o.slos.length] });
  }
  const tenantWeights = tenants.map((_, i) => 1 / (i + 1));
  const promptWeights = Array.from({ length: o.systemPromptsPerTenant }, (_, i) => 1 / (i + 1));

  const requests = [];
  let now = 0;
  let on = false;
  let spellEnds = exponential(arrivalRandom, o.meanOffMs);
  while (requests.length < o.maxRequests) {
    const rate = on ? o.burstRatePerSec : o.baseRatePerSec;
    const next = now + exponential(arrivalRandom, 1000 / rate);
    if (next >= spellEnds) {
      // Memoryless: the next arrival is drawn afresh at the new rate from the spell's end.
      now = spellEnds;
      on = !on;
      spellEnds = now + exponential(arrivalRandom, on ? o.meanOnMs : o.meanOffMs);
      if (now >= o.durationMs) break;
      continue;
    }
    now = next;
    if (now >= o.durationMs) break;
    const tenant = pickWeighted(shapeRandom, tenantWeights);
    const interactive = shapeRandom() < o.interactiveShare;
    const systemPrompt = tenants[tenant].prompts[pickWeighted(shapeRandom, promptWeights)];
    const userTokens = lognormalInt(shapeRandom, interactive ? o.interactivePromptTokens : o.batchPromptTokens);
    const maxTokens = lognormalInt(shapeRandom, interactive ? o.interactiveOutputTokens : o.batchOutputTokens);
    const id = requests.length;
    requests.push({
      id,
      atMs: Math.round(now),
      tenant,
      kind: interactive ? 'interactive' : 'batch',
      systemPrompt,
      // The request id first: no two user messages share a prefix beyond the system prompt.
      user: `Request ${id}.${words(textRandom, userTokens)}`,
      promptTokens: systemPrompts[systemPrompt].tokens + userTokens,
      maxTokens,
      ...(interactive ? { slo: tenants[tenant].slo } : {}),
    });
  }
  return { seed, options: o, systemPrompts, requests };
}

/** The streaming chat body of one request (usage asked for, so cost and token counts come back). */
export function requestBody(workload, request, model) {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: workload.systemPrompts[request.systemPrompt].text },
      { role: 'user', content: request.user },
    ],
    max_tokens: request.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
}

/** The SLO headers of an interactive request (none for batch-like ones). */
export function sloHeaders(request) {
  return request.slo ? { 'x-gateway-slo-ttft-ms': String(request.slo.ttftMs), 'x-gateway-slo-tpot-ms': String(request.slo.tpotMs) } : {};
}
