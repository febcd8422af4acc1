// The runtime's floor: the least a Node.js proxy can do and still be one. node:http on both
// sides with a keep-alive agent, the JSON body parsed and re-serialised each way, streams piped
// through. No auth, limits, metrics, logs, retries or routing.
//
//   node floor-proxy.mjs --upstream http://127.0.0.1:PORT [--port 0]
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } });
const upstream = new URL(values.upstream);
const agent = new Agent({ keepAlive: true }); // no socket cap, like any default agent

function readAll(stream, done) {
  const parts = [];
  stream.on('data', (c) => parts.push(c));
  stream.on('end', () => done(Buffer.concat(parts).toString('utf8')));
}

const server = createServer((req, res) => {
  readAll(req, (text) => {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
      return;
    }
    const out = JSON.stringify(body);
    const up = request(
      { agent, host: upstream.hostname, port: upstream.port, method: 'POST', path: `${upstream.pathname.replace(/\/$/, '')}/chat/completions`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) } },
      (upRes) => {
        if (body.stream === true) {
          res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          upRes.pipe(res);
          return;
        }
        readAll(upRes, (reply) => {
          const json = JSON.stringify(JSON.parse(reply));
          res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
        });
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    up.end(out);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => process.exit(0));
