import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

// Editors save in several steps (truncate, write, rename); act once they settle.
const DEBOUNCE_MS = 200;

async function digest(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` when the content of the file at `path` changes. It watches the directory,
 * not the file: editors replace files by rename and Kubernetes swaps a ConfigMap volume's
 * `..data` symlink, and either leaves a watch on the file itself looking at a deleted inode.
 * Returns a function that stops watching. `onError` gets watch failures (SIGHUP still works).
 */
export async function watchConfigFile(path: string, onChange: () => void, onError: (err: Error) => void): Promise<() => void> {
  let last = await digest(path);
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const now = await digest(path);
    if (now === undefined || now === last) return;
    last = now;
    onChange();
  };
  const watcher = watch(dirname(path), () => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), DEBOUNCE_MS);
  });
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
