// ctest deploy.k8s_schemas: every object in the given manifests against its kind's OpenAPI
// schema (npm kubernetes-models, offline), plus the strictness the schemas leave out.
//
// The published schemas allow unknown fields, and so does the API server unless asked for
// strict field validation: a typo such as `readinessProbes` or `imagePullPolicyy` is silently
// dropped and the pod runs without it. We want `kubectl apply --validate=strict` behaviour, so
// each object is validated through a Proxy that records which keys the compiled validator
// reads. A validator reads every property its schema names and enumerates only maps (labels,
// data, limits); a key it neither read nor enumerated is a field the schema does not have.
//
// Usage: node validate.mjs FILE.yaml...       exit 0 all valid, 1 some invalid, 2 bad usage
//        node validate.mjs --expect-invalid FILE.yaml...   each FILE must be rejected (self-test),
//          for the reason its "# expect: TEXT" line names
import { readFileSync } from "node:fs";
import yaml from "js-yaml";

function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const node = { path, read: new Set(), enumerated: false, value };
  seen.push(node);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") node.read.add(key);
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || v === null || typeof v !== "object") return v;
      if (!children.has(key)) children.set(key, track(v, `${path}/${key}`, seen));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === "string") node.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(seen) {
  const out = [];
  for (const n of seen) {
    if (Array.isArray(n.value) || n.enumerated) continue;
    for (const key of Object.keys(n.value))
      if (!n.read.has(key)) out.push(`${n.path}/${key}: unknown field`);
  }
  return out;
}

const models = new Map();
async function modelFor(apiVersion, kind) {
  // kubernetes-models lays out core/v1 as "v1/Kind" and a group's as "GROUP/VERSION/Kind".
  const spec = `kubernetes-models/${apiVersion}/${kind}`;
  if (!models.has(spec)) {
    let mod = null;
    try {
      mod = await import(spec);
    } catch {
      mod = null;
    }
    models.set(spec, mod && mod[kind]);
  }
  return models.get(spec);
}

async function check(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return ["not a mapping"];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    return ["no apiVersion or kind"];
  const Model = await modelFor(apiVersion, kind);
  if (!Model) return [`no schema for ${apiVersion} ${kind}`];
  const seen = [];
  try {
    Model.prototype.validate.call(track(doc, "", seen));
  } catch (e) {
    return String(e.message || e)
      .split("\n")
      .filter((l) => l.trim());
  }
  return unknownFields(seen);
}

const args = process.argv.slice(2);
const expectInvalid = args[0] === "--expect-invalid";
const files = expectInvalid ? args.slice(1) : args;
if (files.length === 0) {
  console.error("usage: validate.mjs [--expect-invalid] FILE.yaml...");
  process.exit(2);
}
let failed = 0;
let objects = 0;
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`${file}: YAML: ${e.message}`);
    failed++;
    continue;
  }
  const problems = [];
  for (const [i, doc] of docs.entries()) {
    if (doc === null || doc === undefined) continue;
    objects++;
    const where = `${file}[${i}] ${doc.kind}/${doc.metadata && doc.metadata.name}`;
    for (const p of await check(doc)) problems.push(`${where}: ${p}`);
  }
  if (expectInvalid) {
    // The reason matters: a file rejected for some other slip would prove nothing.
    const expect = (readFileSync(file, "utf8").match(/^# expect: (.+)$/m) || [])[1];
    if (!expect) {
      console.error(`${file}: FAIL: no "# expect: TEXT" line`);
      failed++;
    } else if (problems.length === 0) {
      console.error(`${file}: FAIL: accepted, but it is a broken manifest the check must reject`);
      failed++;
    } else if (!problems.some((p) => p.includes(expect.trim()))) {
      console.error(`${file}: FAIL: rejected, but not for "${expect}":\n  ${problems.join("\n  ")}`);
      failed++;
    } else {
      console.log(`${file}: rejected as it should be:\n  ${problems.join("\n  ")}`);
    }
  } else {
    for (const p of problems) console.error(`FAIL: ${p}`);
    if (problems.length) failed++;
  }
}
console.log(`k8s-validate: ${files.length} files, ${objects} objects, ${failed} failed`);
process.exit(failed ? 1 : 0);
