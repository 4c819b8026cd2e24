import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the built UI is: web/dist next to this file when run from source (tsx), or the repository's
 * web/dist when run compiled from dist/web/serve.js.
 */
export function findWebDist(): string | undefined {
  return [join(here, 'dist'), resolve(here, '..', '..', 'web', 'dist')].find((dir) =>
    existsSync(join(dir, 'index.html')),
  );
}

/**
 * Serves the web UI at `/`: the built files, and index.html for every other GET that is not an API
 * path (the UI routes in the URL hash, so this fallback is only for bookmarks and reloads). Mount it
 * after /graphql, /healthz and /metrics. Returns false (and mounts nothing) when the UI is not built.
 *
 * @param distDir the built UI; @default findWebDist()
 */
export function mountWebUi(app: express.Express, distDir: string | undefined = findWebDist()): boolean {
  if (!distDir) return false;
  const index = join(distDir, 'index.html');
  app.use(
    express.static(distDir, {
      index: 'index.html',
      // hashed asset names never change; index.html must be revalidated to pick up new builds
      setHeaders: (res, path) =>
        res.setHeader(
          'cache-control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    }),
  );
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (/^\/(graphql|healthz|metrics)(\/|$)/.test(req.path) || !req.accepts('html')) return next();
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  });
  return true;
}
