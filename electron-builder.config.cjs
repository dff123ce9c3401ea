// Packaging (npm run dist): AppImage and deb for Linux. Needs the Electron binary, which
// machines without access to its download host do not have.
module.exports = {
  appId: 'org.blockscope.app',
  productName: 'Blockscope',
  directories: { output: 'release' },
  files: ['out/**', 'package.json'],
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    icon: 'assets/icon.svg',
  },
};
