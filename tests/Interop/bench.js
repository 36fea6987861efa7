#!/usr/bin/env node
// grpc-js load generator for the reference cell of bench/Courtyard.Bench `grpc` (grpc-js client -> a server).
// Usage: node bench.js --target 127.0.0.1:PORT [--concurrency 32] [--duration-s 10] [--warmup-s 3]
// Keeps `concurrency` unary Echo calls in flight on one channel; prints one JSON line:
// {"calls","errors","seconds","callsPerSecond","p50Ms","p99Ms"}.
'use strict';
const grpc = require('@grpc/grpc-js');
const { loadInterop, lookup } = require('./protos');

function argValue(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

// The same request every benchmark cell sends (see bench/Courtyard.Bench/GrpcBenchmark.cs).
const BENCH_REQUEST = { text: 'bench', payload: Buffer.alloc(64, 7) };

function percentile(sorted, fraction) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

async function runFor(client, concurrency, durationMs, latencies) {
  const endAt = performance.now() + durationMs;
  let calls = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < endAt) {
      const started = performance.now();
      const failed = await new Promise((resolve) => client.Echo(BENCH_REQUEST, (error) => resolve(Boolean(error))));
      if (failed) errors++;
      else {
        calls++;
        if (latencies) latencies.push(performance.now() - started);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, errors };
}

async function main() {
  const target = argValue('--target');
  const concurrency = Number(argValue('--concurrency', '32'));
  const durationMs = Number(argValue('--duration-s', '10')) * 1000;
  const warmupMs = Number(argValue('--warmup-s', '3')) * 1000;
  const Interop = lookup(loadInterop().grpcObject, 'courtyard.interop.v1.Interop');
  const client = new Interop(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

  await runFor(client, concurrency, warmupMs, null);
  const latencies = [];
  const started = performance.now();
  const { calls, errors } = await runFor(client, concurrency, durationMs, latencies);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  client.close();
  process.stdout.write(JSON.stringify({
    calls, errors, seconds, callsPerSecond: calls / seconds,
    p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99),
  }) + '\n');
  process.exit(0);
}

main();
