import { defineConfig } from 'vite';

// Built into dist/, which api/build.rs embeds into the node; the node serves it under /explorer.
export default defineConfig({
  base: '/explorer/',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, reportCompressedSize: false },
});
