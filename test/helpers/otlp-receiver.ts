/**
 * An OTLP/HTTP traces receiver on loopback (a plain node:http server) that decodes what it was
 * actually sent: OTLP/JSON with JSON.parse, OTLP/protobuf with the OpenTelemetry SDK's own
 * wire-format reader (otlp-transformer's ProtobufReader) driven by the field numbers of
 * opentelemetry/proto/trace/v1/trace.proto below. It can also fail or hang on purpose.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client (OTLP's SpanKind; the API's enum is one less). */
  readonly kind: number;
  readonly attributes: Record<string, AttrValue>;
  readonly events: ReadonlyArray<{ name: string; attributes: Record<string, AttrValue> }>;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly resource: Record<string, AttrValue>;
}

export interface ExportRequest {
  readonly headers: IncomingHttpHeaders;
  readonly contentType: string;
  readonly bytes: number;
}

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly requests: ExportRequest[];
  mode: ReceiverMode;
  close(): Promise<void>;
}

export async function startOtlpReceiver(mode: ReceiverMode = 'ok'): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ExportRequest[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver: OtlpReceiver = { url: '', spans, requests, mode, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ headers: req.headers, contentType, bytes: body.length });
      if (receiver.mode === 'hang') {
        hanging.add(res);
        return;
      }
      if (receiver.mode === 'fail') {
        res.writeHead(500).end();
        return;
      }
      if (req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      spans.push(...(contentType.includes('json') ? decodeJson(JSON.parse(body.toString('utf8'))) : decodeProtobuf(body)));
      res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' }).end(contentType.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

// ---- OTLP/JSON ----

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}

function jsonValue(v: JsonAnyValue | undefined): AttrValue {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  return undefined;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, AttrValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));
}

function decodeJson(body: {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        traceState?: string;
        name: string;
        kind: number;
        attributes?: JsonKeyValue[];
        events?: Array<{ name: string; attributes?: JsonKeyValue[] }>;
        status?: { code?: number };
      }>;
    }>;
  }>;
}): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          traceState: s.traceState ?? '',
          name: s.name,
          kind: s.kind,
          attributes: jsonAttributes(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttributes(e.attributes) })),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

// ---- OTLP/protobuf ----

interface Reader {
  pos: number;
  isAtEnd(): boolean;
  readTag(): { fieldNumber: number; wireType: number };
  readVarint(): number;
  readBytes(): Uint8Array;
  readString(): string;
  skip(wireType: number): void;
}
const require = createRequire(import.meta.url);
const { ProtobufReader } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js') as { ProtobufReader: new (buf: Uint8Array) => Reader };

/** Calls `onField` for each field of the message in `buf`; unknown fields are skipped. */
function fields(buf: Uint8Array, onField: (field: number, wireType: number, r: Reader, buf: Uint8Array) => boolean): void {
  const r = new ProtobufReader(buf);
  while (!r.isAtEnd()) {
    const { fieldNumber, wireType } = r.readTag();
    if (!onField(fieldNumber, wireType, r, buf)) r.skip(wireType);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function anyValue(buf: Uint8Array): AttrValue {
  let value: AttrValue;
  fields(buf, (f, w, r, b) => {
    if (f === 1 && w === 2) value = r.readString();
    else if (f === 2 && w === 0) value = r.readVarint() !== 0;
    else if (f === 3 && w === 0) value = r.readVarint();
    else if (f === 4 && w === 1) {
      value = new DataView(b.buffer, b.byteOffset + r.pos, 8).getFloat64(0, true);
      r.pos += 8;
    } else if (f === 5 && w === 2) {
      const values: AttrValue[] = [];
      fields(r.readBytes(), (af, aw, ar) => (af === 1 && aw === 2 ? (values.push(anyValue(ar.readBytes())), true) : false));
      value = values;
    } else return false;
    return true;
  });
  return value;
}

function keyValue(buf: Uint8Array): [string, AttrValue] {
  let key = '';
  let value: AttrValue;
  fields(buf, (f, w, r) => {
    if (f === 1 && w === 2) key = r.readString();
    else if (f === 2 && w === 2) value = anyValue(r.readBytes());
    else return false;
    return true;
  });
  return [key, value];
}

function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  // ExportTraceServiceRequest { 1: repeated ResourceSpans }
  fields(body, (f, w, r) => {
    if (f !== 1 || w !== 2) return false;
    const resource: Record<string, AttrValue> = {};
    const spanBufs: Uint8Array[] = [];
    // ResourceSpans { 1: Resource, 2: repeated ScopeSpans }
    fields(r.readBytes(), (rf, rw, rr) => {
      if (rf === 1 && rw === 2) {
        // Resource { 1: repeated KeyValue }
        fields(rr.readBytes(), (af, aw, ar) => {
          if (af !== 1 || aw !== 2) return false;
          const [k, v] = keyValue(ar.readBytes());
          resource[k] = v;
          return true;
        });
      } else if (rf === 2 && rw === 2) {
        // ScopeSpans { 2: repeated Span }
        fields(rr.readBytes(), (sf, sw, sr) => (sf === 2 && sw === 2 ? (spanBufs.push(sr.readBytes()), true) : false));
      } else return false;
      return true;
    });
    for (const sb of spanBufs) out.push(span(sb, resource));
    return true;
  });
  return out;
}

function span(buf: Uint8Array, resource: Record<string, AttrValue>): ReceivedSpan {
  const s = { traceId: '', spanId: '', parentSpanId: '', traceState: '', name: '', kind: 0, attributes: {} as Record<string, AttrValue>, events: [] as Array<{ name: string; attributes: Record<string, AttrValue> }>, statusCode: 0, resource };
  fields(buf, (f, w, r) => {
    if (f === 1 && w === 2) s.traceId = hex(r.readBytes());
    else if (f === 2 && w === 2) s.spanId = hex(r.readBytes());
    else if (f === 3 && w === 2) s.traceState = r.readString();
    else if (f === 4 && w === 2) s.parentSpanId = hex(r.readBytes());
    else if (f === 5 && w === 2) s.name = r.readString();
    else if (f === 6 && w === 0) s.kind = r.readVarint();
    else if (f === 9 && w === 2) {
      const [k, v] = keyValue(r.readBytes());
      s.attributes[k] = v;
    } else if (f === 11 && w === 2) {
      // Event { 2: name, 3: repeated KeyValue }
      const e = { name: '', attributes: {} as Record<string, AttrValue> };
      fields(r.readBytes(), (ef, ew, er) => {
        if (ef === 2 && ew === 2) e.name = er.readString();
        else if (ef === 3 && ew === 2) {
          const [k, v] = keyValue(er.readBytes());
          e.attributes[k] = v;
        } else return false;
        return true;
      });
      s.events.push(e);
    } else if (f === 15 && w === 2) {
      // Status { 3: code }
      fields(r.readBytes(), (tf, tw, tr) => (tf === 3 && tw === 0 ? ((s.statusCode = tr.readVarint()), true) : false));
    } else return false;
    return true;
  });
  return s;
}
