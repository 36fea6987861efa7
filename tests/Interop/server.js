#!/usr/bin/env node
// A @grpc/grpc-js server for tests/Interop/interop.proto: the peer we did not write, used by the interop tests and
// the benchmark. Usage: node server.js [--port N] (N = 0 picks a free port; env INTEROP_PORT works too).
// Stdout: first line {"port":N,"health":bool}; then one JSON line per observed event, e.g.
//   {"event":"cancelled","method":"Echo","callId":"<x-call-id header>","reason":"cancelled"|"deadline"}
//   {"event":"call","method":"Echo","callId":"...","deadlineMs":N|null,"metadata":{...text},"binaryMetadata":{...base64}}
//   (the last two only for calls that carry an x-call-id header)
// Also serves grpc.health.v1 (tests/Interop/protos) and reflection v1/v1alpha (@grpc/reflection).
// The process exits when its stdin closes, so a killed test run never leaves it behind.
'use strict';
const grpc = require('@grpc/grpc-js');
const { ReflectionService } = require('@grpc/reflection');
const { loadInterop, loadStandardProto, lookup } = require('./protos');

const STATUS_SERVING = 1;
const STATUS_SERVICE_UNKNOWN = 3;
const INTEROP_SERVICE = 'courtyard.interop.v1.Interop';

function argValue(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function firstText(metadata, key) {
  const values = metadata.get(key);
  return values.length > 0 && typeof values[0] === 'string' ? values[0] : undefined;
}

function textMetadataOf(metadata) {
  const seen = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    const texts = values.filter((value) => typeof value === 'string');
    if (texts.length > 0) seen[key] = texts.join(',');
  }
  return seen;
}

function binaryMetadataOf(metadata) {
  const seen = {};
  for (const [key, values] of Object.entries(metadata.getMap())) {
    if (Buffer.isBuffer(values)) seen[key] = values.toString('base64');
  }
  return seen;
}

function echoedMetadata(requestMetadata, keys) {
  const echoed = new grpc.Metadata();
  for (const key of keys) {
    for (const value of requestMetadata.get(key)) echoed.add(key, value);
  }
  return echoed;
}

function failure(statusRequest) {
  return statusRequest && statusRequest.code !== 0 ? { code: statusRequest.code, details: statusRequest.message } : null;
}

// What refuse_with and crash_with ask for, answered as a Courtyard service answers them.
function courtyardFailure(request) {
  const refusal = request.refuse_with;
  if (refusal && refusal.code !== 0) return { code: refusal.code, details: `${refusal.message} ${refusal.english}` };
  if (request.crash_with) return { code: grpc.status.INTERNAL, details: '服务器内部错误，请稍后重试。The server failed to handle the request; please try again later.' };
  return null;
}

function payloadOf(size) {
  return Buffer.alloc(Math.max(0, size), 'courtyard ');
}

// Tracks one call's cancellation (client RST_STREAM or deadline) and reports it once on stdout.
function watchCancellation(call, method) {
  const callId = firstText(call.metadata, 'x-call-id');
  const state = { cancelled: false, finished: false, onCancel: () => {} };
  if (callId) {
    const deadline = Number(call.getDeadline());
    const deadlineMs = Number.isFinite(deadline) ? deadline - Date.now() : null;
    emit({ event: 'call', method, callId, deadlineMs, metadata: textMetadataOf(call.metadata), binaryMetadata: binaryMetadataOf(call.metadata) });
  }
  call.on('cancelled', () => {
    if (state.cancelled || state.finished) return;
    state.cancelled = true;
    const deadline = Number(call.getDeadline()); // a Date or a millisecond timestamp (Infinity when none)
    const reason = deadline <= Date.now() + 5 ? 'deadline' : 'cancelled';
    emit({ event: 'cancelled', method, callId, reason });
    state.onCancel();
  });
  return state;
}

function cancellableDelay(state, ms) {
  return new Promise((resolve) => {
    if (ms <= 0 || state.cancelled) return resolve();
    const timer = setTimeout(resolve, ms);
    state.onCancel = () => { clearTimeout(timer); resolve(); };
  });
}

function writeRespectingBackpressure(call, message) {
  return call.write(message) ? Promise.resolve() : new Promise((resolve) => call.once('drain', resolve));
}

const interopHandlers = {
  async Echo(call, callback) {
    const state = watchCancellation(call, 'Echo');
    const request = call.request;
    await cancellableDelay(state, request.delay_ms);
    if (state.cancelled) return;
    state.finished = true;
    const echoed = echoedMetadata(call.metadata, request.echo_metadata);
    const status = failure(request.fail_with) ?? courtyardFailure(request);
    if (status) return callback({ ...status, metadata: echoed });
    if (request.echo_metadata.length > 0) call.sendMetadata(echoed.clone());
    const payload = request.response_size > 0 ? payloadOf(request.response_size) : request.payload;
    callback(null, { text: request.text, payload, received_metadata: textMetadataOf(call.metadata) }, echoed);
  },

  async Countdown(call) {
    const state = watchCancellation(call, 'Countdown');
    const request = call.request;
    for (let index = 0; index < request.count && !state.cancelled; index++) {
      if (index > 0) await cancellableDelay(state, request.interval_ms);
      if (state.cancelled) break;
      await writeRespectingBackpressure(call, { index, text: request.text, payload: payloadOf(request.payload_size) });
    }
    if (state.cancelled) return;
    state.finished = true;
    const status = failure(request.fail_after);
    if (status) call.emit('error', status);
    else call.end();
  },

  Collect(call, callback) {
    const state = watchCancellation(call, 'Collect');
    let count = 0;
    let totalBytes = 0;
    const texts = [];
    call.on('data', (chunk) => {
      count++;
      totalBytes += chunk.payload.length;
      texts.push(chunk.text);
    });
    call.on('end', () => {
      if (state.cancelled) return;
      state.finished = true;
      callback(null, { count, total_bytes: String(totalBytes), joined_text: texts.join(',') });
    });
  },

  Chat(call) {
    const state = watchCancellation(call, 'Chat');
    call.on('data', (chunk) => { if (!state.cancelled) call.write(chunk); });
    call.on('end', () => {
      if (state.cancelled) return;
      state.finished = true;
      call.end();
    });
  },
};

function healthHandlers() {
  const statuses = new Map([['', STATUS_SERVING], [INTEROP_SERVICE, STATUS_SERVING]]);
  return {
    Check(call, callback) {
      const status = statuses.get(call.request.service);
      if (status === undefined) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      callback(null, { status });
    },
    List(_call, callback) {
      callback(null, { statuses: Object.fromEntries([...statuses].map(([service, status]) => [service, { status }])) });
    },
    Watch(call) {
      // Statuses never change in this server: send the current one and hold the stream until the client leaves.
      call.write({ status: statuses.get(call.request.service) ?? STATUS_SERVICE_UNKNOWN });
      call.on('cancelled', () => call.end());
    },
  };
}

function main() {
  const port = Number(argValue('--port', process.env.INTEROP_PORT ?? '0'));
  const server = new grpc.Server({
    // grpc-js always accepts gzip/deflate requests; this asks for gzip responses, which grpc-js 1.14 servers do not
    // implement yet (responses stay identity-encoded whatever this says).
    'grpc.default_compression_algorithm': 2,
  });
  const interop = loadInterop();
  server.addService(lookup(interop.grpcObject, INTEROP_SERVICE).service, interopHandlers);
  const health = loadStandardProto('grpc.health.v1');
  if (health) server.addService(lookup(health.grpcObject, 'grpc.health.v1.Health').service, healthHandlers());
  // @grpc/reflection (v1 and v1alpha): a third-party reference for client.js's reflection scenarios.
  new ReflectionService({ ...interop.definition, ...(health ? health.definition : {}) }).addToServer(server);

  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
    if (error) {
      process.stderr.write(`bind failed: ${error.message}\n`);
      process.exit(1);
    }
    emit({ port: boundPort, health: Boolean(health) });
  });

  const shutdown = () => server.tryShutdown(() => process.exit(0));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
