// Packaging (npm run dist): AppImage and deb for Linux. Needs the Electron binary, which
// machines without access to its download host do not have (CI checks this configuration with
// a stub binary instead: .ci/check-packaging.mjs). The Electron version is given explicitly
// because the optional electron package may be missing from node_modules.
const { electronVersion } = require('./electron-version.cjs');

module.exports = {
  appId: 'org.blockscope.app',
  electronVersion: electronVersion(),
  productName: 'Blockscope',
  directories: { output: 'release' },
  // The main process bundle needs only ws at run time (electron-vite bundles the rest); the
  // optional electron package and its downloader must not ship inside the app.
  files: ['out/**', 'package.json', '!node_modules/**/*', 'node_modules/ws/**/*'],
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    maintainer: 'Blockscope developers',
    icon: 'assets/icon.svg',
  },
};
