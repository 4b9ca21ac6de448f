// Tokenizes every examples/*.vnuma with the TextMate grammar, as VS Code does
// (vscode-textmate + vscode-oniguruma), and checks the result:
//   - no non-whitespace text is left with only the `source.vnuma` scope;
//   - every `#` outside a string is a comment, and every full-line comment is
//     scoped as one from `#` to the end of the line;
//   - the examples are valid vnuma, so nothing is `invalid.*` and the first
//     word of every line that starts with a letter is a known statement keyword.
// golden/errors/*.vnuma get the first two checks only (they hold errors on purpose).
// Run: node tests/examples.test.js
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const here = __dirname;
const repo = path.resolve(here, '..', '..', '..');
const grammarPath = path.resolve(here, '..', 'syntaxes', 'vnuma.tmLanguage.json');

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.vnuma') {
        return null;
      }
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar('source.vnuma');
  if (!grammar) {
    throw new Error(`could not load ${grammarPath}`);
  }
  return grammar;
}

function vnumaFiles(dir) {
  const abs = path.join(repo, dir);
  if (!fs.existsSync(abs)) {
    return [];
  }
  return fs
    .readdirSync(abs)
    .filter((f) => f.endsWith('.vnuma'))
    .sort()
    .map((f) => path.join(abs, f));
}

/** Problems in one file, as strings "file:line:col: message". */
function checkFile(grammar, file, strict) {
  const problems = [];
  const rel = path.relative(repo, file);
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  let state = vsctm.INITIAL;
  lines.forEach((line, i) => {
    const where = (col) => `${rel}:${i + 1}:${col + 1}`;
    const result = grammar.tokenizeLine(line, state);
    if (result.stoppedEarly) {
      problems.push(`${where(0)}: tokenizing stopped early`);
    }
    state = result.ruleStack;
    for (const token of result.tokens) {
      const end = Math.min(token.endIndex, line.length);
      const text = line.slice(token.startIndex, end);
      const scopes = token.scopes;
      const has = (prefix) => scopes.some((s) => s === prefix || s.startsWith(prefix + '.'));
      if (text.trim() !== '' && scopes.every((s) => s === 'source.vnuma')) {
        problems.push(`${where(token.startIndex)}: \`${text}\` has no scope but source.vnuma`);
      }
      if (text.includes('#') && !has('string') && !has('comment')) {
        problems.push(`${where(token.startIndex)}: \`#\` outside a string is not a comment: ${scopes.join(' ')}`);
      }
      if (strict && has('invalid')) {
        problems.push(`${where(token.startIndex)}: \`${text}\` is marked invalid: ${scopes.join(' ')}`);
      }
    }
    const hash = line.search(/\S/);
    if (hash >= 0 && line[hash] === '#') {
      const covered = result.tokens
        .filter((t) => t.endIndex > hash && t.startIndex < line.length)
        .every((t) => t.scopes.includes('comment.line.number-sign.vnuma'));
      if (!covered) {
        problems.push(`${where(hash)}: full-line comment is not scoped as a comment to the end of the line`);
      }
    }
    if (strict && hash >= 0 && /[A-Za-z]/.test(line[hash])) {
      const first = result.tokens.find((t) => t.endIndex > hash && line.slice(t.startIndex, t.endIndex).trim() !== '');
      if (!first || !first.scopes.includes('keyword.other.statement.vnuma')) {
        problems.push(`${where(hash)}: first word is not a statement keyword: ${first ? first.scopes.join(' ') : 'no token'}`);
      }
    }
  });
  return problems;
}

async function main() {
  const grammar = await loadGrammar();
  const examples = vnumaFiles('examples');
  const errors = vnumaFiles(path.join('golden', 'errors'));
  if (examples.length === 0) {
    throw new Error(`no .vnuma files found in ${path.join(repo, 'examples')}`);
  }
  const problems = [];
  let comments = 0;
  for (const file of examples) {
    problems.push(...checkFile(grammar, file, true));
    comments += fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('#')).length;
  }
  for (const file of errors) {
    problems.push(...checkFile(grammar, file, false));
  }
  if (comments === 0) {
    problems.push('the examples contain no comments, so the comment check tested nothing');
  }
  for (const p of problems) {
    console.error(p);
  }
  const summary = `${examples.length} examples (strict) and ${errors.length} golden error files`;
  if (problems.length > 0) {
    console.error(`✖ ${problems.length} problem(s) in ${summary}`);
    process.exit(1);
  }
  console.log(`✓ ${summary} tokenize cleanly`);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
