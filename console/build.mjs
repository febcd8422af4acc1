#!/usr/bin/env node
/**
 * Builds the web console (console/src) into dist/console/: one script and one stylesheet with
 * content-hashed names under assets/, and index.html naming them. Run by `npm run build` (and so
 * by `npm ci`'s prepare). No CDN, no web fonts: the gateway serves every byte the page loads.
 * Prints the gzipped size of what a browser downloads.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(root, 'console', 'src', 'main.tsx')],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((n) => n.endsWith('.js'));
const style = outputs.find((n) => n.endsWith('.css'));
if (!script || !style || outputs.length !== 2) throw new Error(`expected one script and one stylesheet, got ${outputs.join(', ')}`);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>llm-gateway console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/${style}">
<script type="module" src="/ui/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>The console needs JavaScript.</noscript></div>
</body>
</html>
`;
writeFileSync(join(out, 'index.html'), html);

const gz = (name) => gzipSync(readFileSync(join(out, name))).length;
const total = gz(`assets/${script}`) + gz(`assets/${style}`) + gz('index.html');
process.stdout.write(`console: dist/console (${script}, ${style}) ${(total / 1024).toFixed(1)} KiB gzipped\n`);
