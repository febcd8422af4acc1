// Closed-loop maximum throughput with autocannon: `connections` connections, each sending its
// next request as soon as the previous answer arrived. Headers rotate over the tenant keys.
//   node load-max.mjs '<json spec>'   → prints one JSON line of results
// spec: { url, path, connections, durationSec, body, headerSets }
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2]);
let n = 0;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSec,
  pipelining: 1,
  requests: [
    {
      method: 'POST',
      path: spec.path,
      body: spec.body,
      setupRequest: (req) => ({ ...req, headers: spec.headerSets[n++ % spec.headerSets.length] }),
    },
  ],
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSec: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.average, max: result.latency.max },
  })}\n`,
);
