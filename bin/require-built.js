// Loads a module from dist/ (the compiled src/), or says how to build it.
'use strict';
const path = require('node:path');

module.exports = function requireBuilt(name) {
  const file = path.join(__dirname, '..', 'dist', `${name}.js`);
  try {
    require.resolve(file);
  } catch {
    process.stderr.write(`error: ${file} is missing: run \`npm install\` (or \`npm run build\`) in ${path.dirname(__dirname)}\n`);
    process.exit(1);
  }
  return require(file);
};
