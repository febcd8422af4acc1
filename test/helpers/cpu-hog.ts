/**
 * A busy machine on demand: child processes that spin on a core each, for at most `maxMs`
 * (they stop by themselves if the test dies), stopped by their own pids.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CpuHog {
  stop(): Promise<void>;
}

export function startCpuHog(spinners: number, maxMs: number): CpuHog {
  const children: ChildProcess[] = [];
  for (let i = 0; i < spinners; i++) {
    const spin = `const end = Date.now() + ${Math.floor(maxMs)}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
    children.push(spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
  }
  return {
    async stop() {
      await Promise.all(
        children.map((child) => {
          if (child.exitCode !== null || child.signalCode !== null) return undefined;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          return exited;
        }),
      );
    },
  };
}
