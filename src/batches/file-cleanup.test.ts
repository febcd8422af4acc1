import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import { openStore } from '../control/store/open-store.js';
import { files } from '../control/store/schema.js';
import type { ControlStore } from '../control/store/store.js';
import { deleteExpiredFiles } from './file-cleanup.js';
import { newFileId } from './ids.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const now = new Date('2026-12-05T10:00:00Z');

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('deleteExpiredFiles: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const url = server ? await createTestDatabase('filecleanup').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it.skipIf(server && !pgAvailable)('deletes every expired file (more than one statement takes), and only those', async () => {
    const file = (expiresAt: Date | null) => ({ id: newFileId(), team: 't', purpose: 'batch' as const, filename: 'f', bytes: 1, content: Buffer.from('x'), createdBy: 'k', createdAt: now, expiresAt });
    const expired = Array.from({ length: 250 }, () => file(new Date(now.getTime() - 1)));
    const kept = [file(new Date(now.getTime() + 1)), file(null)];
    await store.db.insert(files).values([...expired, ...kept]);
    expect(await deleteExpiredFiles(store.db, now)).toBe(250);
    expect((await store.db.select({ id: files.id }).from(files)).map((f) => f.id).sort()).toEqual(kept.map((f) => f.id).sort());
    expect(await deleteExpiredFiles(store.db, now)).toBe(0);
  });
});
