// Copy the pages' JS/CSS from node_modules into service/crew/static/vendor/, which the
// app serves (the crew map's Leaflet, the Digital Agency design tokens every page's stylesheet
// is built on): many municipal networks have no internet, so the page may load nothing from a
// CDN. Plain Node (>= 18), no dependencies. Run after `npm ci`:
//
//     cd frontend && npm ci --no-audit --no-fund && node copy-assets.mjs
//
// The vendor directory is build output: it is emptied first, so nothing stale is served.
// Files a copied stylesheet references with url(...) (images, fonts) are copied too, and a
// reference that cannot be resolved stops the build. The URLs under vendor/ are the ones
// service/crew/map_page.py (offline_assets) puts in the page; tests/test_crewmap.py checks
// they exist.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "service", "crew", "static", "vendor");

// package -> [file in the package, path under vendor/]. Licence files go along: the BSD and
// MIT licences ask for the notice to travel with redistributed copies.
const ASSETS = {
  leaflet: [
    ["dist/leaflet.js", "leaflet/leaflet.js"],
    ["dist/leaflet.css", "leaflet/leaflet.css"],
    ["LICENSE", "leaflet/LICENSE"],
  ],
  "leaflet.markercluster": [
    ["dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"],
    ["dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"],
    ["MIT-LICENCE.txt", "leaflet.markercluster/LICENSE"],
  ],
  "@digital-go-jp/design-tokens": [
    ["dist/tokens.css", "design-tokens/tokens.css"],
    ["LICENSE", "design-tokens/LICENSE"],
  ],
  "leaflet.heat": [
    ["dist/leaflet-heat.js", "leaflet.heat/leaflet-heat.js"],
    ["LICENSE", "leaflet.heat/LICENSE"],
  ],
  // Drawing and editing the area of an alert (/crew/alerts).
  "@geoman-io/leaflet-geoman-free": [
    ["dist/leaflet-geoman.min.js", "leaflet-geoman/leaflet-geoman.min.js"],
    ["dist/leaflet-geoman.css", "leaflet-geoman/leaflet-geoman.css"],
    ["LICENSE", "leaflet-geoman/LICENSE"],
  ],
};

// url(...) in a stylesheet; data: URIs and fragments (IE's url(#default#VML)) are no files.
// A quoted URL is taken whole: an inline SVG holds quotes and url(#…) of its own.
const CSS_URL = /url\(\s*(?:'([^']*)'|"([^"]*)"|([^'")\s]+))\s*\)/g;

function copy(from, to) {
  if (!existsSync(from)) {
    throw new Error(`missing ${from}: run "npm ci" in frontend/ first`);
  }
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

function copyReferenced(cssSource, cssTarget) {
  const copied = new Set();
  for (const match of readFileSync(cssSource, "utf8").matchAll(CSS_URL)) {
    const ref = (match[1] ?? match[2] ?? match[3]).trim();
    if (ref.startsWith("data:") || ref.startsWith("#")) continue;
    if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(ref)) {
      throw new Error(`${cssSource} loads ${ref} from another host`);
    }
    // Drop ?query and #fragment (font files carry them for cache busting and SVG ids).
    const file = posix.normalize(ref.replace(/[?#].*$/, ""));
    if (!copied.has(file)) copy(join(dirname(cssSource), file), join(dirname(cssTarget), file));
    copied.add(file);
  }
  return [...copied];
}

rmSync(vendor, { recursive: true, force: true });
let count = 0;
for (const [pkg, files] of Object.entries(ASSETS)) {
  const version = JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
  const copied = [];
  for (const [source, target] of files) {
    const from = join(modules, pkg, source);
    const to = join(vendor, target);
    copy(from, to);
    copied.push(target);
    if (source.endsWith(".css")) {
      for (const file of copyReferenced(from, to)) copied.push(posix.join(dirname(target), file));
    }
  }
  count += copied.length;
  console.log(`${pkg}@${version}: ${copied.join(", ")}`);
}
console.log(`${count} files in ${vendor}`);
