import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webDir = fileURLToPath(new URL('.', import.meta.url));

/** Builds the UI into web/dist; `npx vite web` proxies /graphql to a gateway on :8100 for development. */
export default defineConfig({
  root: webDir,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8100', ws: true },
      // The console's WebSocket (startExec's URL, opened at the page's own origin).
      '/exec': { target: 'http://127.0.0.1:8100', ws: true },
    },
  },
});
