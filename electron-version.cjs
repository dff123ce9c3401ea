// The Electron version Blockscope is built and packaged for, in one place: the version npm
// installed, else the one locked in package-lock.json. Electron is an optional dependency (its
// postinstall downloads a binary, which fails on machines without access to it; npm then leaves
// the package out), so build tools must not depend on node_modules/electron being there.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function electronVersion() {
  try {
    return require('electron/package.json').version;
  } catch {
    const lock = JSON.parse(readFileSync(join(__dirname, 'package-lock.json'), 'utf8'));
    const locked = lock.packages?.['node_modules/electron']?.version;
    if (!locked) throw new Error('electron-version: electron is neither installed nor in package-lock.json');
    return locked;
  }
}

module.exports = { electronVersion };
