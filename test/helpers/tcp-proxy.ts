/**
 * A TCP proxy in front of a PostgreSQL server (or anything), for faults that need no access to
 * the server: hold a connection's traffic from the moment it sends some text (the LISTEN of a
 * replica's listening connection, say), or freeze connections silently (bytes dropped both
 * ways, sockets left open: what a vanished machine or a NAT that forgot the flow looks like).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Everything the client sent so far, as latin1 (bounded), to match connections by what they said. */
  said: string;
  frozen: boolean;
  /** Client bytes held back (in order) while `held`. */
  held: Buffer[] | undefined;
}

export interface TcpProxy {
  readonly port: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /**
   * From the next client chunk containing `text` on, that connection's client bytes are held
   * (not forwarded) until the returned function is called.
   */
  holdFrom(text: string): () => void;
  /** Silently drops all traffic of the open connections whose client has sent `text`; returns how many. */
  freezeWhere(text: string): number;
  /**
   * A network that went silent: every open connection frozen, and new ones accepted but frozen
   * too, until `heal()`; after it, new connections work and the frozen ones stay dead.
   */
  blackhole(): void;
  heal(): void;
  close(): Promise<void>;
}

const SAID_LIMIT = 64 * 1024;

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const links = new Set<Link>();
  const holds: Array<{ text: string; links: Link[]; released: boolean }> = [];
  let silent = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const link: Link = { client, upstream, said: '', frozen: silent, held: undefined };
    links.add(link);
    client.on('data', (d: Buffer) => {
      if (link.frozen) return;
      if (link.said.length < SAID_LIMIT) link.said += d.toString('latin1');
      if (!link.held) {
        const hold = holds.find((h) => !h.released && d.toString('latin1').includes(h.text));
        if (hold) {
          link.held = [];
          hold.links.push(link);
        }
      }
      if (link.held) link.held.push(d);
      else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!link.frozen) client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      links.delete(link);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    get open() {
      return links.size;
    },
    holdFrom(text) {
      const hold = { text, links: [] as Link[], released: false };
      holds.push(hold);
      return () => {
        hold.released = true;
        for (const link of hold.links) {
          const held = link.held ?? [];
          link.held = undefined;
          for (const d of held) link.upstream.write(d);
        }
      };
    },
    freezeWhere(text) {
      let n = 0;
      for (const link of links) {
        if (link.said.includes(text)) {
          link.frozen = true;
          n++;
        }
      }
      return n;
    },
    blackhole() {
      silent = true;
      for (const link of links) link.frozen = true;
    },
    heal() {
      silent = false;
    },
    close: async () => {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
