// Validates rendered Kubernetes manifests without a cluster.
//   node validate.mjs rendered.yaml [more.yaml…]     (or YAML on stdin)
//   node validate.mjs --self-test                     (proves broken manifests are caught)
// Built-in kinds: checked against the Kubernetes OpenAPI schemas shipped in `kubernetes-models`.
// Dapr custom resources (no schema there): checked by the rules below.
// Then the platform's own conventions: non-root pods, resources set, Dapr annotations and gRPC probes on services,
// and what Orleans' Kubernetes hosting needs on every service that hosts a silo.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const DAPR_API_VERSION = "dapr.io/v1alpha1";
const GRPC_PORT = 5100;
const HTTP_PORT = 5180;

async function validateAll(text, label) {
  const errors = [];
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) { errors.push(`${label}: YAML error: ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  for (const obj of objects) {
    const name = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    const report = (msg) => errors.push(`${label}: ${name}: ${msg}`);
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") { report("apiVersion and kind are required"); continue; }
    if (obj.apiVersion.startsWith("dapr.io/")) checkDapr(obj, report);
    else await checkKubernetesSchema(obj, report);
    checkConventions(obj, report);
  }
  checkCrossReferences(objects, (msg) => errors.push(`${label}: ${msg}`));
  return { errors, count: objects.length };
}

async function checkKubernetesSchema(obj, report) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  let module;
  try { module = await import(modulePath); } catch { report(`unknown apiVersion ${obj.apiVersion}`); return; }
  const Model = module[obj.kind];
  if (typeof Model !== "function") { report(`unknown kind ${obj.kind} in ${obj.apiVersion}`); return; }
  try { new Model(obj).validate(); } catch (e) { report(`schema: ${e.message}`); }
}

// ---- Dapr custom resources ----

const COMPONENT_TYPE = /^(pubsub|state|bindings|secretstores|configuration|lock|crypto|middleware\.http|nameresolution|conversation)\.[a-z0-9][a-z0-9.\-]*$/;
// Settings the platform relies on (DESIGN.md §4): durable queues, manual ack with requeue, confirms, dead letters.
const REQUIRED_RABBITMQ_SETTINGS = { durable: "true", autoAck: "false", requeueInFailure: "true", publisherConfirm: "true", enableDeadLetter: "true" };

function checkDapr(obj, report) {
  if (obj.apiVersion !== DAPR_API_VERSION) report(`apiVersion must be ${DAPR_API_VERSION}`);
  if (!obj.metadata?.name) report("metadata.name is required");
  if (obj.kind === "Component") checkDaprComponent(obj, report);
  else if (obj.kind === "Configuration") checkDaprConfiguration(obj, report);
  else if (!["Subscription", "Resiliency", "HTTPEndpoint"].includes(obj.kind)) report(`unknown Dapr kind ${obj.kind}`);
}

function checkDaprComponent(obj, report) {
  for (const key of Object.keys(obj)) {
    if (!["apiVersion", "kind", "metadata", "spec", "scopes", "auth"].includes(key)) report(`unexpected top-level field "${key}"`);
  }
  const spec = obj.spec;
  if (!spec || typeof spec !== "object") { report("spec is required"); return; }
  if (typeof spec.type !== "string" || !COMPONENT_TYPE.test(spec.type)) report(`spec.type "${spec.type}" is not <building block>.<name>`);
  if (typeof spec.version !== "string" || !/^v\d+$/.test(spec.version)) report(`spec.version must be like "v1"`);
  if (!Array.isArray(spec.metadata)) { report("spec.metadata must be a list"); return; }
  const settings = {};
  let usesSecretRef = false;
  for (const [i, item] of spec.metadata.entries()) {
    if (!item || typeof item.name !== "string" || !item.name) { report(`spec.metadata[${i}].name is required`); continue; }
    if (item.name in settings) report(`spec.metadata "${item.name}" appears twice`);
    const hasValue = "value" in item, hasRef = "secretKeyRef" in item;
    if (hasValue === hasRef) { report(`spec.metadata "${item.name}" needs exactly one of value or secretKeyRef`); continue; }
    if (hasValue && typeof item.value !== "string") report(`spec.metadata "${item.name}" value must be a string (quote it)`);
    if (hasRef) {
      usesSecretRef = true;
      if (!item.secretKeyRef?.name || !item.secretKeyRef?.key) report(`spec.metadata "${item.name}" secretKeyRef needs name and key`);
    }
    settings[item.name] = hasValue ? item.value : { secret: item.secretKeyRef };
  }
  if (usesSecretRef && !obj.auth?.secretStore) report("secretKeyRef used but auth.secretStore is not set");
  if (obj.scopes !== undefined && (!Array.isArray(obj.scopes) || obj.scopes.some((s) => typeof s !== "string"))) report("scopes must be a list of app ids");
  if (spec.type === "pubsub.redis" && !settings.redisHost) report("pubsub.redis needs redisHost");
  if (spec.type === "pubsub.rabbitmq") {
    if (!settings.connectionString && !settings.hostname) report("pubsub.rabbitmq needs connectionString or hostname");
    for (const [key, expected] of Object.entries(REQUIRED_RABBITMQ_SETTINGS)) {
      if (settings[key] !== expected) report(`pubsub.rabbitmq must set ${key}: "${expected}" (has ${JSON.stringify(settings[key])})`);
    }
  }
}

function checkDaprConfiguration(obj, report) {
  const tracing = obj.spec?.tracing;
  if (!tracing) return;
  const rate = Number(tracing.samplingRate);
  if (typeof tracing.samplingRate !== "string" || !(rate >= 0 && rate <= 1)) report("spec.tracing.samplingRate must be a string between \"0\" and \"1\"");
  if (tracing.otel && !tracing.otel.endpointAddress) report("spec.tracing.otel.endpointAddress is required");
  if (tracing.otel && !["grpc", "http"].includes(tracing.otel.protocol)) report("spec.tracing.otel.protocol must be grpc or http");
}

// ---- Platform conventions ----

function podSpecOf(obj) {
  return ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(obj.kind) ? obj.spec?.template?.spec : undefined;
}

function checkConventions(obj, report) {
  const pod = podSpecOf(obj);
  if (!pod) return;
  if (pod.securityContext?.runAsNonRoot !== true) report("pod securityContext.runAsNonRoot must be true");
  for (const c of pod.containers ?? []) {
    if (!c.resources?.requests || !c.resources?.limits) report(`container ${c.name}: resource requests and limits are required`);
    if (c.securityContext?.allowPrivilegeEscalation !== false) report(`container ${c.name}: allowPrivilegeEscalation must be false`);
    if (!(c.securityContext?.capabilities?.drop ?? []).includes("ALL")) report(`container ${c.name}: capabilities must drop ALL`);
  }
  const annotations = obj.spec?.template?.metadata?.annotations ?? {};
  if (obj.metadata?.labels?.["app.kubernetes.io/component"] !== "service") return;
  // A Courtyard service: Dapr on the HTTP/1.1 port, Kubernetes gRPC probes on the h2c port.
  if (annotations["dapr.io/enabled"] !== "true") report(`dapr.io/enabled must be "true"`);
  if (annotations["dapr.io/app-id"] !== obj.metadata.name) report("dapr.io/app-id must equal the Deployment name");
  if (annotations["dapr.io/app-port"] !== String(HTTP_PORT)) report(`dapr.io/app-port must be "${HTTP_PORT}" (the HTTP/1.1 port)`);
  if (annotations["dapr.io/app-protocol"] !== "http") report(`dapr.io/app-protocol must be "http"`);
  const app = pod.containers?.[0];
  const ports = (app?.ports ?? []).map((p) => p.containerPort);
  if (!ports.includes(GRPC_PORT) || !ports.includes(HTTP_PORT)) report(`container must expose ${GRPC_PORT} (gRPC h2c) and ${HTTP_PORT} (HTTP/1.1)`);
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    if (app?.[probe]?.grpc?.port !== GRPC_PORT) report(`${probe} must be grpc on port ${GRPC_PORT}`);
  }
  // Liveness asks only whether the process answers: an unreachable database must not restart the pod.
  if (app?.livenessProbe?.grpc && app.livenessProbe.grpc.service !== "liveness") report(`livenessProbe must ask for the grpc health service "liveness"`);
  // Directory signs access tokens; every other service checks them against the keys Directory publishes (a service
  // that cannot check tokens refuses to start).
  const env = Object.fromEntries((app?.env ?? []).map((e) => [e.name, e]));
  if (obj.metadata.name !== "directory" && !/^https?:\/\/[^/]+$/.test(env["Courtyard__Authentication__DirectoryAddress"]?.value ?? "")) {
    report("Courtyard__Authentication__DirectoryAddress must name Directory's HTTP address (e.g. http://directory:5180)");
  }
  checkSilo(obj, pod, app, report);
}

// A service that hosts an Orleans silo (it sets Courtyard__Orleans__Clustering): Redis membership, the pod identity
// Orleans' Kubernetes hosting reads, the labels it finds its cluster by, a silo port and a service account.
function checkSilo(obj, pod, app, report) {
  const env = Object.fromEntries((app?.env ?? []).map((e) => [e.name, e]));
  const clustering = env["Courtyard__Orleans__Clustering"];
  if (!clustering) return;
  if (clustering.value !== "redis") report(`Courtyard__Orleans__Clustering must be "redis" in a cluster (has ${JSON.stringify(clustering.value)})`);
  if (!env["Courtyard__Orleans__RedisConnectionString"]?.value) report("Courtyard__Orleans__RedisConnectionString is required with redis clustering");
  const fieldRefs = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace", POD_IP: "status.podIP" };
  for (const [name, path] of Object.entries(fieldRefs)) {
    if (env[name]?.valueFrom?.fieldRef?.fieldPath !== path) report(`env ${name} must come from fieldRef ${path} (Orleans' Kubernetes hosting reads it)`);
  }
  const labels = obj.spec?.template?.metadata?.labels ?? {};
  for (const label of ["orleans/serviceId", "orleans/clusterId"]) {
    if (!labels[label]) report(`pod template needs the label ${label}`);
  }
  const siloPort = Number(env["Courtyard__Orleans__SiloPort"]?.value ?? 11111);
  if (!(app?.ports ?? []).some((p) => p.containerPort === siloPort)) report(`container must expose the silo port ${siloPort}`);
  if (!pod.serviceAccountName) report("a silo needs a serviceAccountName allowed to watch pods");
}

function checkCrossReferences(objects, report) {
  const appIds = new Set(objects.map((o) => o.spec?.template?.metadata?.annotations?.["dapr.io/app-id"]).filter(Boolean));
  const configurations = new Set(objects.filter((o) => o.kind === "Configuration" && o.apiVersion === DAPR_API_VERSION).map((o) => o.metadata?.name));
  const secrets = new Set(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata?.name));
  const serviceAccounts = new Set(objects.filter((o) => o.kind === "ServiceAccount").map((o) => o.metadata?.name));
  const podWatchers = new Set(objects.filter((o) => o.kind === "RoleBinding"
      && objects.some((r) => r.kind === "Role" && r.metadata?.name === o.roleRef?.name
        && (r.rules ?? []).some((rule) => (rule.resources ?? []).includes("pods") && ["get", "watch", "list"].every((v) => (rule.verbs ?? []).includes(v)))))
    .flatMap((o) => (o.subjects ?? []).filter((s) => s.kind === "ServiceAccount").map((s) => s.name)));
  for (const o of objects) {
    const annotations = o.spec?.template?.metadata?.annotations ?? {};
    const account = o.spec?.template?.spec?.serviceAccountName;
    if (account && serviceAccounts.size > 0 && !serviceAccounts.has(account)) report(`${o.kind}/${o.metadata?.name}: serviceAccountName "${account}" is not among the rendered ServiceAccounts`);
    if (account && serviceAccounts.has(account) && o.spec?.template?.metadata?.labels?.["orleans/serviceId"] && !podWatchers.has(account)) {
      report(`${o.kind}/${o.metadata?.name}: service account "${account}" is bound to no Role that may get, list and watch pods`);
    }
    const config = annotations["dapr.io/config"];
    if (config && !configurations.has(config)) report(`${o.kind}/${o.metadata?.name}: dapr.io/config "${config}" has no Configuration`);
    if (o.kind === "Component" && Array.isArray(o.scopes)) {
      for (const scope of o.scopes) if (!appIds.has(scope)) report(`Component/${o.metadata?.name}: scope "${scope}" is no app's dapr.io/app-id`);
    }
    // A Dapr secretKeyRef is resolved by name at run time: kustomize cannot add its hash suffix, so it must match exactly.
    if (o.kind === "Component" && secrets.size > 0) {
      for (const item of o.spec?.metadata ?? []) {
        const ref = item.secretKeyRef?.name;
        if (ref && !secrets.has(ref)) report(`Component/${o.metadata?.name}: secret "${ref}" is not among the rendered Secrets (hash suffix?)`);
      }
    }
  }
}

// ---- Self test: each broken manifest must be rejected ----

const BROKEN = {
  "Deployment with a string port": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: x
          image: x
          ports: [{containerPort: "http"}]
          resources: {requests: {cpu: 1m}, limits: {cpu: 1m}}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
  "pod running as root": `apiVersion: apps/v1
kind: Deployment
metadata: {name: y}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: y, image: y}]
`,
  "rabbitmq component without manual ack": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
    - {name: connectionString, value: "amqp://x"}
    - {name: durable, value: "true"}
    - {name: autoAck, value: "true"}
    - {name: requeueInFailure, value: "true"}
    - {name: publisherConfirm, value: "true"}
    - {name: enableDeadLetter, value: "true"}
`,
  "component with an unquoted boolean and no type": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  version: v1
  metadata:
    - {name: enableTLS, value: false}
`,
  "silo without the pod identity Orleans' Kubernetes hosting reads": `apiVersion: apps/v1
kind: Deployment
metadata: {name: councils, labels: {app.kubernetes.io/component: service}}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata:
      labels: {a: b}
      annotations: {dapr.io/enabled: "true", dapr.io/app-id: councils, dapr.io/app-port: "5180", dapr.io/app-protocol: http}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: councils
          image: x
          ports: [{containerPort: 5100}, {containerPort: 5180}]
          env: [{name: Courtyard__Orleans__Clustering, value: redis}, {name: Courtyard__Orleans__RedisConnectionString, value: "redis:6379"},
            {name: Courtyard__Authentication__DirectoryAddress, value: "http://directory:5180"}]
          readinessProbe: {grpc: {port: 5100}}
          livenessProbe: {grpc: {port: 5100, service: liveness}}
          resources: {requests: {cpu: 1m}, limits: {cpu: 1m}}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
  "service that cannot check access tokens": `apiVersion: apps/v1
kind: Deployment
metadata: {name: portal, labels: {app.kubernetes.io/component: service}}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata:
      labels: {a: b}
      annotations: {dapr.io/enabled: "true", dapr.io/app-id: portal, dapr.io/app-port: "5180", dapr.io/app-protocol: http}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: portal
          image: x
          ports: [{containerPort: 5100}, {containerPort: 5180}]
          readinessProbe: {grpc: {port: 5100}}
          livenessProbe: {grpc: {port: 5100, service: liveness}}
          resources: {requests: {cpu: 1m}, limits: {cpu: 1m}}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
  "unknown kind": `apiVersion: apps/v1
kind: Deploymnet
metadata: {name: x}
`,
};

async function selfTest() {
  let failures = 0;
  for (const [what, text] of Object.entries(BROKEN)) {
    const { errors } = await validateAll(text, what);
    if (errors.length === 0) { console.error(`self-test FAILED: "${what}" was accepted`); failures++; }
    else console.log(`self-test ok: "${what}" rejected (${errors[0]})`);
  }
  return failures;
}

if (process.argv[2] === "--self-test") {
  process.exit((await selfTest()) ? 1 : 0);
}
const inputs = process.argv.length > 2
  ? process.argv.slice(2).map((file) => [file, readFileSync(file, "utf8")])
  : [["stdin", readFileSync(0, "utf8")]];
let failed = false;
for (const [label, text] of inputs) {
  const { errors, count } = await validateAll(text, label);
  for (const e of errors) console.error(e);
  console.log(`${label}: ${count} objects, ${errors.length} problems`);
  if (errors.length) failed = true;
}
process.exit(failed ? 1 : 0);
