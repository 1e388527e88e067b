// Bundles src/app.js with the 100ms SDK into api/assets/demo/app.js (committed: `caucus serve`
// embeds it at /demo). `node build.mjs --check` fails when the committed bundle is stale.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const result = await build({
  entryPoints: [join(here, 'src/app.js')],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'eof',
  define: { 'process.env.NODE_ENV': '"production"' },
  write: false,
  logLevel: 'warning',
});
const outputs = {
  '../../api/assets/demo/app.js': result.outputFiles[0].text,
  '../../api/assets/demo/index.html': readFileSync(join(here, 'src/index.html'), 'utf8'),
};
let stale = [];
for (const [name, text] of Object.entries(outputs)) {
  const path = join(here, name);
  let old = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old !== text) {
    stale.push(name);
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
}
if (check && stale.length) {
  console.error(`stale: ${stale.join(', ')}: run \`npm run build\` in tests/browser and commit`);
  process.exit(1);
}
console.log(check ? 'dist is up to date' : stale.length ? `wrote ${stale.join(', ')}` : 'dist unchanged');
