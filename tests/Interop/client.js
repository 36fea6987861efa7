#!/usr/bin/env node
// A @grpc/grpc-js client that runs named interop scenarios against a server for tests/Interop/interop.proto.
// Usage: node client.js --target 127.0.0.1:PORT [--scenario NAME]... (or --scenario a,b or --scenario all) | --list
//        [--expect-proto-file interop.proto] (the file name reflection must report for interop.proto)
// Prints one JSON line per scenario: {"scenario","pass","ms","details"[,"error"]}; exits 1 if any scenario failed.
// Scenarios that need the server to observe something (cancellation, request encoding) report the x-call-id header
// they sent in details.callId, so the harness can check the server's own record of that call.
'use strict';
const assert = require('assert/strict');
const crypto = require('crypto');
const net = require('net');
const grpc = require('@grpc/grpc-js');
const descriptor = require('protobufjs/ext/descriptor');
const { loadInterop, loadStandardProto, lookup } = require('./protos');

const MAX_MESSAGE = 4 * 1024 * 1024;
// The descriptor name reflection should report for interop.proto (@grpc/reflection invents its own: selftest.js says so).
let expectedProtoFile = 'interop.proto';
const WRITE_FLAG_NO_COMPRESS = 2;
const GZIP = 2;
const NON_ASCII_MESSAGES = [
  '投票已截止 — voting closed',
  '名额已满：第3班次 (shift full) 🏠',
  'percent 100% and a newline\nsecond line\ttab',
];

const interop = loadInterop();
const InteropClient = lookup(interop.grpcObject, 'courtyard.interop.v1.Interop');
const echoSerialize = interop.definition['courtyard.interop.v1.Interop'].Echo.requestSerialize;

// ---------- small helpers ----------

function newCallId() {
  return crypto.randomUUID();
}

function metadataWith(entries) {
  const metadata = new grpc.Metadata();
  for (const [key, value] of entries) metadata.add(key, value);
  return metadata;
}

function compressiblePayload(size) {
  return Buffer.alloc(size, 'the courtyard council meets on thursday; ');
}

function deadlineIn(ms) {
  return new Date(Date.now() + ms);
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Makes a unary call and resolves with { reply, headers, trailers } or rejects with the grpc-js error
// (code, details, metadata). `onStarted(call)` lets a scenario cancel the call.
function unary(client, method, request, { metadata = new grpc.Metadata(), options = {}, onStarted } = {}) {
  return new Promise((resolve, reject) => {
    let headers = null;
    let outcome = null;
    const call = client[method](request, metadata, options, (error, reply) => { outcome = { error, reply }; });
    call.on('metadata', (received) => { headers = received; });
    call.on('status', (status) => {
      if (outcome.error) reject(outcome.error);
      else resolve({ reply: outcome.reply, headers, trailers: status.metadata });
    });
    if (onStarted) onStarted(call);
  });
}

// Reads a readable grpc-js stream until it ends; resolves { messages, status } (status.code may be non-zero).
function drain(call, onMessage = () => {}) {
  return new Promise((resolve) => {
    const messages = [];
    let error = null;
    call.on('data', (message) => { messages.push(message); onMessage(message, messages.length); });
    call.on('error', (received) => { error = received; });
    call.on('status', (status) => resolve({ messages, status, error }));
  });
}

// Turns a readable stream into "await the next message".
function messageQueue(call) {
  const queued = [];
  const waiting = [];
  let ended = null;
  const settle = () => {
    while (waiting.length > 0 && (queued.length > 0 || ended)) {
      const waiter = waiting.shift();
      if (queued.length > 0) waiter.resolve(queued.shift());
      else waiter.reject(ended);
    }
  };
  call.on('data', (message) => { queued.push(message); settle(); });
  call.on('error', (error) => { ended = error; settle(); });
  call.on('end', () => { ended = ended ?? new Error('stream ended'); settle(); });
  return () => new Promise((resolve, reject) => { waiting.push({ resolve, reject }); settle(); });
}

function expectStatus(error, code, label) {
  assert.ok(error, `${label}: expected status ${grpc.status[code]}, got success`);
  assert.equal(error.code, code, `${label}: expected ${grpc.status[code]}, got ${grpc.status[error.code]} "${error.details}"`);
}

async function expectRejection(promise, code, label) {
  try {
    await promise;
  } catch (error) {
    expectStatus(error, code, label);
    return error;
  }
  assert.fail(`${label}: expected status ${grpc.status[code]}, got success`);
}

// A TCP relay that counts bytes each way, so scenarios can tell whether a peer really compressed.
function countingProxy(target) {
  const [host, port] = splitHostPort(target);
  const counts = { up: 0, down: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    client.on('data', (data) => { counts.up += data.length; });
    upstream.on('data', (data) => { counts.down += data.length; });
    client.pipe(upstream);
    upstream.pipe(client);
    const closeBoth = () => { client.destroy(); upstream.destroy(); };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    address: `127.0.0.1:${server.address().port}`,
    counts,
    close() { for (const socket of sockets) socket.destroy(); server.close(); },
  })));
}

function splitHostPort(target) {
  const index = target.lastIndexOf(':');
  return [target.slice(0, index), Number(target.slice(index + 1))];
}

// ---------- scenarios ----------

const scenarios = {
  async unary({ client }) {
    const callId = newCallId();
    const payload = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]);
    const { reply } = await unary(client, 'Echo', { text: '你好, courtyard', payload }, {
      metadata: metadataWith([['x-call-id', callId], ['x-courtyard-text', 'hello']]),
    });
    assert.equal(reply.text, '你好, courtyard');
    assert.deepEqual(reply.payload, payload);
    assert.equal(reply.received_metadata['x-courtyard-text'], 'hello', 'server saw the text header');
    return { callId, receivedMetadataKeys: Object.keys(reply.received_metadata).sort() };
  },

  async 'response-size'({ client }) {
    const { reply } = await unary(client, 'Echo', { text: 'sized', response_size: 100_000 });
    assert.equal(reply.payload.length, 100_000);
    return { payloadLength: reply.payload.length };
  },

  async 'server-streaming'({ client }) {
    const call = client.Countdown({ text: 'tick', count: 5, interval_ms: 40, payload_size: 1000 });
    const arrivals = [];
    const { messages, status } = await drain(call, () => arrivals.push(Date.now()));
    assert.equal(status.code, grpc.status.OK, `status ${status.code} ${status.details}`);
    assert.deepEqual(messages.map((chunk) => chunk.index), [0, 1, 2, 3, 4]);
    for (const chunk of messages) {
      assert.equal(chunk.text, 'tick');
      assert.equal(chunk.payload.length, 1000);
    }
    // Chunks must arrive as they are produced (4 pauses of 40 ms), not buffered until the end.
    const spreadMs = arrivals[arrivals.length - 1] - arrivals[0];
    assert.ok(spreadMs >= 100, `chunks arrived within ${spreadMs} ms of each other: the stream was buffered`);
    return { chunks: messages.length, spreadMs };
  },

  async 'server-streaming-error'({ client }) {
    const message = NON_ASCII_MESSAGES[1];
    const call = client.Countdown({ text: 'x', count: 3, fail_after: { code: grpc.status.FAILED_PRECONDITION, message } });
    const { messages, status } = await drain(call);
    assert.equal(messages.length, 3, `${messages.length} chunks before the error (status ${status.code} "${status.details}"), expected 3`);
    assert.equal(status.code, grpc.status.FAILED_PRECONDITION, `status ${status.code} ${status.details}`);
    assert.equal(status.details, message);
    return { chunks: messages.length, details: status.details };
  },

  async 'server-streaming-empty'({ client }) {
    const { messages, status } = await drain(client.Countdown({ text: 'none', count: 0 }));
    assert.equal(status.code, grpc.status.OK, `status ${status.code} ${status.details}`);
    assert.equal(messages.length, 0);
    return {};
  },

  async 'client-streaming'({ client }) {
    const texts = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', '十'];
    const summary = await new Promise((resolve, reject) => {
      const call = client.Collect((error, reply) => (error ? reject(error) : resolve(reply)));
      texts.forEach((text, index) => call.write({ index, text, payload: Buffer.alloc(index * 100, 7) }));
      call.end();
    });
    assert.equal(summary.count, texts.length);
    assert.equal(Number(summary.total_bytes), 4500);
    assert.equal(summary.joined_text, texts.join(','));
    return summary;
  },

  async 'client-streaming-empty'({ client }) {
    const summary = await new Promise((resolve, reject) => {
      const call = client.Collect((error, reply) => (error ? reject(error) : resolve(reply)));
      call.end();
    });
    assert.equal(summary.count, 0);
    assert.equal(Number(summary.total_bytes), 0);
    assert.equal(summary.joined_text, '');
    return summary;
  },

  async duplex({ client }) {
    const call = client.Chat();
    const next = messageQueue(call);
    const ended = drainStatus(call);
    // Ping-pong: each write waits for its echo, which only works if the server answers before the client finishes.
    for (let index = 0; index < 5; index++) {
      const payload = crypto.randomBytes(64 + index);
      call.write({ index, text: `ping ${index} 乒乓`, payload });
      const echoed = await next();
      assert.equal(echoed.index, index);
      assert.equal(echoed.text, `ping ${index} 乒乓`);
      assert.deepEqual(echoed.payload, payload);
    }
    call.end();
    const status = await ended;
    assert.equal(status.code, grpc.status.OK, `status ${status.code} ${status.details}`);
    return { rounds: 5 };
  },

  async 'deadline-exceeded'({ client }) {
    await warmUp(client);
    const callId = newCallId();
    const started = Date.now();
    await expectRejection(unary(client, 'Echo', { text: 'slow', delay_ms: 5000 }, {
      metadata: metadataWith([['x-call-id', callId]]), options: { deadline: deadlineIn(300) },
    }), grpc.status.DEADLINE_EXCEEDED, 'Echo with 300 ms deadline');
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs < 2500, `deadline took ${elapsedMs} ms`);
    return { callId, elapsedMs };
  },

  async 'deadline-exceeded-streaming'({ client }) {
    await warmUp(client);
    const callId = newCallId();
    const call = client.Countdown({ text: 'slow', count: 1000, interval_ms: 50 }, metadataWith([['x-call-id', callId]]),
      { deadline: deadlineIn(500) });
    const { messages, status } = await drain(call);
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED, `status ${status.code} ${status.details}`);
    assert.ok(messages.length >= 1 && messages.length < 1000, `${messages.length} chunks before the deadline`);
    return { callId, chunks: messages.length };
  },

  async 'cancel-unary'({ client }) {
    await warmUp(client);
    const callId = newCallId();
    const started = Date.now();
    await expectRejection(unary(client, 'Echo', { text: 'to be cancelled', delay_ms: 10_000 }, {
      metadata: metadataWith([['x-call-id', callId]]),
      onStarted: (call) => setTimeout(() => call.cancel(), 500),
    }), grpc.status.CANCELLED, 'cancelled Echo');
    return { callId, elapsedMs: Date.now() - started };
  },

  async 'cancel-streaming'({ client }) {
    await warmUp(client);
    const callId = newCallId();
    const call = client.Countdown({ text: 'long', count: 100_000, interval_ms: 20 }, metadataWith([['x-call-id', callId]]));
    const { messages, status } = await drain(call, (_, received) => { if (received === 3) call.cancel(); });
    assert.equal(status.code, grpc.status.CANCELLED, `status ${status.code} ${status.details}`);
    assert.ok(messages.length >= 3 && messages.length < 100_000);
    return { callId, chunks: messages.length };
  },

  async 'error-status'({ client }) {
    const codes = [grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED,
      grpc.status.FAILED_PRECONDITION, grpc.status.ABORTED, grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED];
    const seen = [];
    for (const [index, code] of codes.entries()) {
      const message = NON_ASCII_MESSAGES[index % NON_ASCII_MESSAGES.length];
      const error = await expectRejection(unary(client, 'Echo', { text: 'fail', fail_with: { code, message } }),
        code, `fail_with ${grpc.status[code]}`);
      assert.equal(error.details, message, `details for ${grpc.status[code]}`);
      seen.push({ code: error.code, details: error.details });
    }
    return { seen };
  },

  // A Courtyard service refuses with a status and a message Chinese first, then English (TEAM convention 4).
  async refusal({ client }) {
    const refusals = [
      [grpc.status.INVALID_ARGUMENT, '面积必须大于零。', 'The floor area must be greater than zero.'],
      [grpc.status.FAILED_PRECONDITION, '投票已截止，不能再改票。', 'Voting has closed; the ballot cannot be changed.'],
      [grpc.status.PERMISSION_DENIED, '只有本院落的居民可以投票。', 'Only residents of this courtyard can vote.'],
    ];
    const seen = [];
    for (const [code, chinese, english] of refusals) {
      const error = await expectRejection(unary(client, 'Echo', { text: 'refuse', refuse_with: { code, message: chinese, english } }),
        code, `refuse_with ${grpc.status[code]}`);
      assert.equal(error.details, `${chinese} ${english}`, `details for ${grpc.status[code]}`);
      seen.push({ code: error.code, details: error.details });
    }
    return { seen };
  },

  // What a handler did not expect reaches the caller as INTERNAL with a generic bilingual message: never its text or a stack.
  async 'unexpected-error'({ client }) {
    const secret = 'Password=hunter2 at Courtyard.Secret.Method()';
    const error = await expectRejection(unary(client, 'Echo', { text: 'crash', crash_with: secret }), grpc.status.INTERNAL, 'crash_with');
    assert.ok(!error.details.includes('hunter2'), `the exception text reached the caller: ${error.details}`);
    assert.ok(!/\bat [A-Z][\w.]+\(/.test(error.details), `a stack frame reached the caller: ${error.details}`);
    assert.ok(/^[\u4e00-\u9fff]/.test(error.details), `the message does not start in Chinese: ${error.details}`);
    return { details: error.details };
  },

  async unimplemented({ client, target }) {
    const unknownMethod = await expectRejection(rawUnary(client, '/courtyard.interop.v1.Interop/Vote'),
      grpc.status.UNIMPLEMENTED, 'unknown method');
    const unknownService = await expectRejection(rawUnary(client, '/courtyard.interop.v1.Ballot/Echo'),
      grpc.status.UNIMPLEMENTED, 'unknown service');
    return { target, unknownMethod: unknownMethod.details, unknownService: unknownService.details };
  },

  async metadata({ client }) {
    const binary = Buffer.concat([Buffer.from([0, 1, 0x7f, 0x80, 0xfe, 0xff]), Buffer.from('投票', 'utf8')]);
    const text = 'Plain value; with spaces, punctuation = ok';
    const callId = newCallId();
    const { reply, headers, trailers } = await unary(client, 'Echo', {
      text: 'md', echo_metadata: ['x-courtyard-text', 'x-courtyard-data-bin'],
    }, { metadata: metadataWith([['x-call-id', callId], ['x-courtyard-text', text], ['x-courtyard-data-bin', binary]]) });
    assert.equal(reply.received_metadata['x-courtyard-text'], text, 'server saw the text header');
    assert.ok(headers, 'response headers arrived');
    assert.deepEqual(headers.get('x-courtyard-text'), [text], 'text header echoed in response headers');
    assert.deepEqual(headers.get('x-courtyard-data-bin'), [binary], 'binary header echoed in response headers');
    assert.deepEqual(trailers.get('x-courtyard-text'), [text], 'text header echoed in trailers');
    assert.deepEqual(trailers.get('x-courtyard-data-bin'), [binary], 'binary header echoed in trailers');
    return { callId, receivedMetadataKeys: Object.keys(reply.received_metadata).sort() };
  },

  async 'metadata-on-error'({ client }) {
    const binary = Buffer.from([0xff, 0x00, 0x10]);
    const error = await expectRejection(unary(client, 'Echo', {
      text: 'md', echo_metadata: ['x-courtyard-text', 'x-courtyard-data-bin'],
      fail_with: { code: grpc.status.ABORTED, message: NON_ASCII_MESSAGES[0] },
    }, { metadata: metadataWith([['x-courtyard-text', 'on error'], ['x-courtyard-data-bin', binary]]) }),
    grpc.status.ABORTED, 'fail_with ABORTED');
    assert.equal(error.details, NON_ASCII_MESSAGES[0]);
    assert.deepEqual(error.metadata.get('x-courtyard-text'), ['on error'], 'text metadata with the error status');
    assert.deepEqual(error.metadata.get('x-courtyard-data-bin'), [binary], 'binary metadata with the error status');
    return { details: error.details };
  },

  async 'metadata-multi-value'({ client }) {
    const { reply, trailers } = await unary(client, 'Echo', { text: 'multi', echo_metadata: ['x-courtyard-multi'] },
      { metadata: metadataWith([['x-courtyard-multi', 'one'], ['x-courtyard-multi', 'two']]) });
    assert.deepEqual(trailers.get('x-courtyard-multi').flatMap((value) => value.split(/,\s*/)), ['one', 'two']);
    return { received: reply.received_metadata['x-courtyard-multi'] };
  },

  async 'compression-request'({ target }) {
    const proxy = await countingProxy(target);
    const client = newClient(proxy.address, { 'grpc.default_compression_algorithm': GZIP });
    try {
      const callId = newCallId();
      const payload = compressiblePayload(1024 * 1024);
      const { reply } = await unary(client, 'Echo', { text: 'gzip up', payload, response_size: 16 },
        { metadata: metadataWith([['x-call-id', callId]]) });
      assert.equal(reply.payload.length, 16);
      // Streams too: a client-streaming call whose every message is compressed.
      const summary = await collect(client, 4, () => compressiblePayload(256 * 1024));
      assert.equal(Number(summary.total_bytes), 4 * 256 * 1024);
      assert.ok(proxy.counts.up < 200 * 1024, `client sent ${proxy.counts.up} bytes for 2 MiB of gzip-able messages`);
      return { callId, bytesSent: proxy.counts.up };
    } finally {
      client.close();
      proxy.close();
    }
  },

  async 'compression-per-message'({ target }) {
    const proxy = await countingProxy(target);
    const client = newClient(proxy.address, { 'grpc.default_compression_algorithm': GZIP });
    try {
      // Alternate compressed and uncompressed frames (the per-message flag) within one gzip-encoded call.
      const summary = await collect(client, 6, () => compressiblePayload(256 * 1024), (index) => (index % 2 ? WRITE_FLAG_NO_COMPRESS : 0));
      assert.equal(summary.count, 6);
      assert.equal(Number(summary.total_bytes), 6 * 256 * 1024);
      assert.ok(proxy.counts.up > 3 * 256 * 1024 && proxy.counts.up < 4 * 256 * 1024,
        `client sent ${proxy.counts.up} bytes: expected three raw and three gzip frames`);
      return { bytesSent: proxy.counts.up };
    } finally {
      client.close();
      proxy.close();
    }
  },

  async 'compression-response'({ target }) {
    const proxy = await countingProxy(target);
    const client = newClient(proxy.address, {});
    try {
      const payload = compressiblePayload(1024 * 1024);
      const { reply } = await unary(client, 'Echo', { text: 'gzip down', payload });
      assert.deepEqual(reply.payload, payload);
      assert.ok(proxy.counts.up > 1024 * 1024, 'the request went uncompressed');
      assert.ok(proxy.counts.down < 200 * 1024,
        `server sent ${proxy.counts.down} bytes for a 1 MiB gzip-able reply to a client accepting gzip`);
      return { bytesReceived: proxy.counts.down };
    } finally {
      client.close();
      proxy.close();
    }
  },

  async 'max-message-request'({ client }) {
    // A request of exactly MAX_MESSAGE bytes passes; one byte more is RESOURCE_EXHAUSTED, and the channel still works.
    const atLimit = requestOfSize(MAX_MESSAGE);
    const { reply } = await unary(client, 'Echo', atLimit);
    assert.equal(reply.payload.length, 1);
    const overLimit = requestOfSize(MAX_MESSAGE + 1);
    const error = await expectRejection(unary(client, 'Echo', overLimit), grpc.status.RESOURCE_EXHAUSTED,
      `request of ${MAX_MESSAGE + 1} bytes`);
    const after = await unary(client, 'Echo', { text: 'still here' });
    assert.equal(after.reply.text, 'still here');
    return { atLimitBytes: MAX_MESSAGE, overLimitDetails: error.details };
  },

  async 'max-message-response'({ client }) {
    const nearLimit = MAX_MESSAGE - 4096;
    const { reply } = await unary(client, 'Echo', { text: 'big reply', response_size: nearLimit });
    assert.equal(reply.payload.length, nearLimit);
    // grpc-js refuses a reply over its 4 MiB receive limit: proves our server sends large messages intact and framed.
    await expectRejection(unary(client, 'Echo', { text: 'too big', response_size: MAX_MESSAGE + 1 }),
      grpc.status.RESOURCE_EXHAUSTED, 'reply over the client limit');
    return { nearLimitBytes: nearLimit };
  },

  async health({ target }) {
    const health = requireStandardProto('grpc.health.v1');
    const Health = lookup(health.grpcObject, 'grpc.health.v1.Health');
    const client = new Health(target, grpc.credentials.createInsecure());
    try {
      const overall = await unary(client, 'Check', { service: '' });
      assert.equal(overall.reply.status, 1, 'overall status SERVING');
      await expectRejection(unary(client, 'Check', { service: 'courtyard.no.such.Service' }), grpc.status.NOT_FOUND,
        'Check of an unknown service');
      const watch = client.Watch({ service: '' });
      const next = messageQueue(watch);
      const first = await next();
      assert.equal(first.status, 1, 'Watch first reports SERVING');
      const unknownWatch = client.Watch({ service: 'courtyard.no.such.Service' });
      const unknownFirst = await messageQueue(unknownWatch)();
      assert.equal(unknownFirst.status, 3, 'Watch of an unknown service reports SERVICE_UNKNOWN');
      for (const call of [watch, unknownWatch]) {
        call.on('error', () => {});
        call.cancel();
      }
      return { overall: overall.reply.status, watchFirst: first.status, unknownWatchFirst: unknownFirst.status };
    } finally {
      client.close();
    }
  },

  'reflection-v1': (context) => reflectionScenario(context, 'grpc.reflection.v1'),
  'reflection-v1alpha': (context) => reflectionScenario(context, 'grpc.reflection.v1alpha'),
};

// One call first, so the connection is up and a timed cancel or deadline hits a call the server is already running.
async function warmUp(client) {
  await unary(client, 'Echo', { text: 'warm-up' });
}

function drainStatus(call) {
  return new Promise((resolve) => {
    call.on('error', () => {});
    call.on('status', resolve);
  });
}

function rawUnary(client, path) {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, (value) => value, (value) => value, Buffer.alloc(0),
      (error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

function collect(client, count, payloadOf, flagsOf = () => 0) {
  return new Promise((resolve, reject) => {
    const call = client.Collect((error, reply) => (error ? reject(error) : resolve(reply)));
    for (let index = 0; index < count; index++) call.write({ index, text: String(index), payload: payloadOf(index) }, flagsOf(index));
    call.end();
  });
}

// An EchoRequest (response_size 1) whose serialized size is exactly `size` bytes.
function requestOfSize(size) {
  const request = { text: '', response_size: 1, payload: Buffer.alloc(size) };
  const overhead = echoSerialize(request).length - size;
  request.payload = Buffer.alloc(size - overhead, 1);
  assert.equal(echoSerialize(request).length, size);
  return request;
}

function newClient(address, options) {
  return new InteropClient(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, ...options });
}

function requireStandardProto(packageName) {
  const loaded = loadStandardProto(packageName);
  assert.ok(loaded, `no proto declaring package ${packageName} under tests/Interop/protos`);
  return loaded;
}

async function reflectionScenario({ target }, packageName) {
  const reflection = requireStandardProto(packageName);
  const ServerReflection = lookup(reflection.grpcObject, `${packageName}.ServerReflection`);
  const client = new ServerReflection(target, grpc.credentials.createInsecure());
  const call = client.ServerReflectionInfo();
  const next = messageQueue(call);
  const ask = async (request) => {
    call.write({ host: '', ...request });
    return next();
  };
  try {
    const listed = await ask({ list_services: '' });
    assert.equal(listed.message_response, 'list_services_response', `list_services answered ${listed.message_response}`);
    const services = listed.list_services_response.service.map((service) => service.name);
    assert.ok(services.includes('courtyard.interop.v1.Interop'), `services listed: ${services.join(', ')}`);
    assert.ok(services.includes('grpc.health.v1.Health'), `services listed: ${services.join(', ')}`);

    const byService = await fileContaining(ask, 'courtyard.interop.v1.Interop');
    const service = byService.service.find((candidate) => candidate.name === 'Interop');
    assert.deepEqual(service.method.map((method) => method.name), ['Echo', 'Countdown', 'Collect', 'Chat']);
    const byMessage = await fileContaining(ask, 'courtyard.interop.v1.EchoRequest');
    assert.ok(byMessage.messageType.some((message) => message.name === 'EchoRequest'));
    const byMethod = await fileContaining(ask, 'courtyard.interop.v1.Interop.Echo');
    assert.equal(byMethod.name, byService.name, 'a method symbol resolves to its service file');

    const byName = await ask({ file_by_filename: byService.name });
    assert.equal(byName.message_response, 'file_descriptor_response', `file_by_filename answered ${byName.message_response}`);
    const named = byName.file_descriptor_response.file_descriptor_proto.map((bytes) => descriptor.FileDescriptorProto.decode(bytes));
    assert.ok(named.some((file) => file.name === byService.name), 'file_by_filename returns the named file');

    const missing = await ask({ file_containing_symbol: 'courtyard.interop.v1.NoSuchThing' });
    assert.equal(missing.message_response, 'error_response', `unknown symbol answered ${missing.message_response}`);
    assert.equal(missing.error_response.error_code, grpc.status.NOT_FOUND);

    call.end();
    const status = await drainStatus(call);
    assert.equal(status.code, grpc.status.OK, `reflection stream ended with ${status.code} ${status.details}`);
    return { services, file: byService.name, package: byService.package };
  } finally {
    client.close();
  }
}

async function fileContaining(ask, symbol) {
  const response = await ask({ file_containing_symbol: symbol });
  assert.equal(response.message_response, 'file_descriptor_response',
    `file_containing_symbol ${symbol} answered ${response.message_response} ${JSON.stringify(response.error_response ?? {})}`);
  const files = response.file_descriptor_response.file_descriptor_proto.map((bytes) => descriptor.FileDescriptorProto.decode(bytes));
  const file = files.find((candidate) => candidate.package === 'courtyard.interop.v1');
  assert.ok(file, `no file of package courtyard.interop.v1 among ${files.map((f) => f.name).join(', ')}`);
  assert.ok(file.name.endsWith(expectedProtoFile), `file name ${file.name}, expected …${expectedProtoFile}`);
  return file;
}

// ---------- runner ----------

function parseArguments(argv) {
  const parsed = { target: null, scenarios: [], list: false, timeoutMs: 30_000 };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--target') parsed.target = argv[++index];
    else if (argument === '--scenario') parsed.scenarios.push(...argv[++index].split(','));
    else if (argument === '--timeout-ms') parsed.timeoutMs = Number(argv[++index]);
    else if (argument === '--list') parsed.list = true;
    else if (argument === '--expect-proto-file') expectedProtoFile = argv[++index];
    else throw new Error(`unknown argument ${argument}`);
  }
  if (parsed.scenarios.length === 0 || parsed.scenarios.includes('all')) parsed.scenarios = Object.keys(scenarios);
  return parsed;
}

function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label} timed out after ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.list) {
    for (const name of Object.keys(scenarios)) console.log(name);
    return 0;
  }
  if (!options.target) throw new Error('--target host:port is required');
  let failures = 0;
  for (const name of options.scenarios) {
    const scenario = scenarios[name];
    const started = Date.now();
    const result = { scenario: name, pass: false, ms: 0, details: {} };
    if (!scenario) {
      result.error = `unknown scenario; known: ${Object.keys(scenarios).join(', ')}`;
    } else {
      const client = newClient(options.target, {});
      try {
        result.details = await withTimeout(scenario({ client, target: options.target }), options.timeoutMs, name) ?? {};
        result.pass = true;
      } catch (error) {
        result.error = error.code !== undefined && error.details !== undefined
          ? `unexpected status ${grpc.status[error.code]} (${error.code}): ${error.details}`
          : error.message;
      } finally {
        client.close();
      }
    }
    result.ms = Date.now() - started;
    if (!result.pass) failures++;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  return failures === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(2);
});
