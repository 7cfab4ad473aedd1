#!/usr/bin/env node
// Usage: node validate.js FILE.glb  -> prints the validator's JSON report; exit 1 when it reports errors.
"use strict";
const fs = require("fs");
const validator = require("gltf-validator");

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.js FILE.glb");
  process.exit(2);
}
const data = new Uint8Array(fs.readFileSync(file));
validator
  .validateBytes(data, { maxIssues: 100, externalResourceFunction: () => Promise.reject(new Error("no external resources")) })
  .then((report) => {
    process.stdout.write(JSON.stringify(report, null, 1) + "\n");
    process.exit(report.issues.numErrors > 0 ? 1 : 0);
  })
  .catch((err) => {
    console.error(`validator failed: ${err}`);
    process.exit(3);
  });
