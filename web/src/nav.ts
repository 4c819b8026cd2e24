/** Hash routes: `#/containers?nodeId=...`. */
export function readHash(): { path: string; params: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  return { path: path || 'dashboard', params: new URLSearchParams(query) };
}

export function navigate(path: string, params: Record<string, string> = {}): void {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${path}${query ? `?${query}` : ''}`;
}

/** Replaces the current route's query (filters) without adding history entries. */
export function setParams(params: Record<string, string | undefined>): void {
  const { path } = readHash();
  const clean = Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => !!e[1]));
  const query = new URLSearchParams(clean).toString();
  history.replaceState(null, '', `#/${path}${query ? `?${query}` : ''}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
