#!/usr/bin/env node
// Adds lock entries for optional platform packages the registry mirror cannot serve,
// so `npm ci` accepts the lock; npm skips them on other platforms without fetching.
import fs from 'node:fs';
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const pk = lock.packages;
const platformOf = (name) => {
  const os = /darwin/.test(name) ? 'darwin' : /win32|windows/.test(name) ? 'win32' : 'linux';
  const cpu = /arm64/.test(name) ? 'arm64' : 'x64';
  const libc = /musl/.test(name) ? ['musl'] : /linux/.test(name) ? ['glibc'] : undefined;
  return { os, cpu, libc };
};
let added = 0;
for (const [path, entry] of Object.entries(pk)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (pk[key]) continue;
    const { os, cpu, libc } = platformOf(dep);
    pk[key] = { version, cpu: [cpu], ...(entry.dev ? { dev: true } : {}), ...(libc && os === 'linux' ? { libc } : {}), optional: true, os: [os] };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} lock entries`);
