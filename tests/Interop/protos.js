// Loads the protos the interop peers speak: tests/Interop/interop.proto, and the standard grpc.health.v1 and
// grpc.reflection.v1/v1alpha protos in tests/Interop/protos (found by their package line, wherever they sit).
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const repoRoot = path.resolve(__dirname, '..', '..');
const defaultStandardProtoDir = path.join(__dirname, 'protos');

const loaderOptions = { keepCase: true, longs: String, enums: Number, bytes: Buffer, defaults: true, oneofs: true };

function loadInterop() {
  const definition = protoLoader.loadSync(path.join(__dirname, 'interop.proto'), loaderOptions);
  return { definition, grpcObject: grpc.loadPackageDefinition(definition) };
}

function listProtoFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listProtoFiles(full);
    return entry.name.endsWith('.proto') ? [full] : [];
  });
}

// Returns { file, definition, grpcObject } for the proto declaring `packageName`, or null when there is none.
function loadStandardProto(packageName, dir = process.env.COURTYARD_STANDARD_PROTOS || defaultStandardProtoDir) {
  const declaration = new RegExp(`^\\s*package\\s+${packageName.replace(/\./g, '\\.')}\\s*;`, 'm');
  const file = listProtoFiles(dir).find((candidate) => declaration.test(fs.readFileSync(candidate, 'utf8')));
  if (!file) return null;
  const definition = protoLoader.loadSync(file, { ...loaderOptions, includeDirs: [dir, path.dirname(file)] });
  return { file, definition, grpcObject: grpc.loadPackageDefinition(definition) };
}

// Resolves a dotted name ("grpc.health.v1.Health") inside a loaded grpc object.
function lookup(grpcObject, dottedName) {
  return dottedName.split('.').reduce((node, part) => (node ? node[part] : undefined), grpcObject);
}

module.exports = { loadInterop, loadStandardProto, lookup, repoRoot, defaultStandardProtoDir };
