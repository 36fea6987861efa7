#!/usr/bin/env node
// grpc-js client.js against grpc-js server.js: proves the scenarios themselves before they judge our services'
// configuration. Usage: npm run selftest. Skips what a grpc-js 1.14 server cannot do (gzip responses).
'use strict';
const { spawn, spawnSync } = require('child_process');
const path = require('path');
const readline = require('readline');

const NOT_SERVED_BY_GRPC_JS = ['compression-response'];

async function main() {
  const server = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: server.stdout });
  const events = [];
  const ready = new Promise((resolve) => lines.on('line', (line) => {
    const message = JSON.parse(line);
    if (message.port !== undefined) resolve(message);
    else events.push(message);
  }));
  const { port, health } = await ready;

  const listed = spawnSync(process.execPath, [path.join(__dirname, 'client.js'), '--list'], { encoding: 'utf8' });
  const scenarios = listed.stdout.trim().split('\n')
    .filter((name) => !NOT_SERVED_BY_GRPC_JS.includes(name) && (health || name !== 'health'));
  const run = spawnSync(process.execPath, [path.join(__dirname, 'client.js'), '--target', `127.0.0.1:${port}`, '--scenario', scenarios.join(','),
    // @grpc/reflection names a file after its package, not after the .proto it came from.
    '--expect-proto-file', 'courtyard_interop_v1.proto'],
    { encoding: 'utf8' });
  process.stdout.write(run.stdout);
  let failed = run.status !== 0;

  // The server must have seen every cancellation the client caused.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const result of run.stdout.trim().split('\n').map((line) => JSON.parse(line))) {
    if (!/^(cancel|deadline)/.test(result.scenario) || !result.pass) continue;
    const seen = events.some((event) => event.event === 'cancelled' && event.callId === result.details.callId);
    console.log(JSON.stringify({ check: `server observed ${result.scenario}`, pass: seen }));
    failed ||= !seen;
  }
  server.stdin.end();
  process.exit(failed ? 1 : 0);
}

main();
