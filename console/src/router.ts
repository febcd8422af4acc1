import { useEffect, useState } from 'preact/hooks';

/** Pages live under /ui/…; the gateway answers every such path with index.html. */
export const BASE = '/ui';

let listeners: Array<() => void> = [];

export function navigate(path: string, replace = false): void {
  const url = `${BASE}${path}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

/** The path after /ui (`/live`, `/requests/abc`), re-read on navigation and back/forward. */
export function usePath(): string {
  const read = (): string => {
    const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
    return p === '' ? '/' : p;
  };
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = (): void => setPath(read());
    listeners.push(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners = listeners.filter((l) => l !== update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A plain link that navigates without reloading (and still opens in a new tab with a modifier). */
export function onLinkClick(event: MouseEvent, path: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(path);
}
