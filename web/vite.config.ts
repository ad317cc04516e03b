/**
 * The viewer's bundle (`cowherd view`, `cowherd report --html`): one script
 * and one stylesheet under dist/web, an IIFE rather than an ES module so
 * that a report opened from the file system (file://, where Chromium
 * refuses module scripts) runs, and so that `--single-file` can inline it.
 */

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  logLevel: 'warn',
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: `${here}../dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    lib: {
      entry: `${here}src/main.tsx`,
      name: 'cowherdViewer',
      formats: ['iife'],
      fileName: () => 'viewer.js',
      cssFileName: 'viewer',
    },
  },
});
