// Compiles the Solidity sources in contracts/ with the pinned solc-js and writes one JSON
// artifact per contract to contracts/artifacts/ (test contracts to contracts/artifacts/test/).
//
//   node contracts/build.mjs           write the artifacts
//   node contracts/build.mjs --check   rebuild in memory; exit 1 if the committed files differ
//
// The node API (solc.compile) is used rather than the solcjs CLI, which prints a line before
// its JSON. Everything that affects the bytecode is pinned here or in package-lock.json, and the
// output is byte-for-byte deterministic (sorted keys, 2-space indent, trailing newline), so the
// committed artifacts can be checked by a test and the Python code never needs a compiler.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const SOLC_VERSION = "0.8.37";
const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(CONTRACTS_DIR, "..");
const ARTIFACTS_DIR = join(CONTRACTS_DIR, "artifacts");
const NODE_MODULES = join(REPO_ROOT, "node_modules");
// Library imports the compiler may resolve from node_modules; anything else is an error.
const ALLOWED_IMPORT_PREFIXES = ["@openzeppelin/contracts/"];

// Compiler settings recorded in every artifact. viaIR saves ~1.2k gas per payment over the
// legacy pipeline (measured with bench/gas.py) for a slower build (~7 s). A high `runs` favours
// cheap calls over a cheap deployment: the contract is deployed once per chain and called for
// every payment.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 1000000 },
  viaIR: true,
  metadata: { bytecodeHash: "ipfs" },
  remappings: [],
};

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

// Source unit names are repo-relative ("contracts/KassaCheckout.sol") so that the metadata hash
// embedded in the bytecode does not depend on where the repo is checked out.
function listSources(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "artifacts") found.push(...listSources(full));
    } else if (entry.name.endsWith(".sol")) {
      found.push(relative(REPO_ROOT, full).split(sep).join("/"));
    }
  }
  return found.sort();
}

function findImport(path) {
  if (!ALLOWED_IMPORT_PREFIXES.some((prefix) => path.startsWith(prefix))) {
    return { error: `import outside the allowed libraries: ${path}` };
  }
  const file = join(NODE_MODULES, path);
  if (!existsSync(file)) return { error: `not found in node_modules: ${path}` };
  return { contents: readFileSync(file, "utf8") };
}

// Deterministic JSON: object keys sorted at every level, arrays kept in compiler order.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function stableJson(value) {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

// Keeps what a reader needs from the storage layout (and a test pins): the compiler's astId
// and type identifiers are noise.
function storageLayout(layout) {
  return layout.storage.map((item) => ({
    contract: item.contract,
    label: item.label,
    offset: item.offset,
    slot: item.slot,
    type: item.type,
  }));
}

function compile() {
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc ${SOLC_VERSION} is pinned, node_modules has ${version}`);
  }
  const sourceNames = listSources(CONTRACTS_DIR);
  const sources = Object.fromEntries(
    sourceNames.map((name) => [name, { content: readFileSync(join(REPO_ROOT, name), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: {
        "*": {
          "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.immutableReferences",
            "metadata",
            "storageLayout",
          ],
        },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  // Errors fail the build, and so do warnings about our own sources (they are small enough to
  // keep warning-free). Library warnings are only reported: OpenZeppelin's TransientSlot always
  // triggers solc's generic "transient storage" warning, which does not apply to a guard that
  // is cleared at the end of the call.
  let fatal = 0;
  for (const diagnostic of output.errors ?? []) {
    const file = diagnostic.sourceLocation?.file ?? "";
    const ours = !ALLOWED_IMPORT_PREFIXES.some((prefix) => file.startsWith(prefix));
    if (diagnostic.severity === "error" || ours) {
      fatal += 1;
      process.stderr.write(`${diagnostic.formattedMessage}\n`);
    } else {
      process.stderr.write(`note: library warning (not fatal) in ${file}: ${diagnostic.message.split(". ")[0]}\n`);
    }
  }
  if (fatal > 0) throw new Error(`solc reported ${fatal} fatal diagnostic(s)`);

  const artifacts = new Map();
  for (const sourceName of sourceNames) {
    for (const [contractName, contract] of Object.entries(output.contracts[sourceName] ?? {})) {
      const bytecode = contract.evm.bytecode.object;
      if (bytecode === "") continue; // interfaces and abstract contracts
      const metadata = JSON.parse(contract.metadata);
      // The metadata lists exactly the source files this contract was built from.
      const usedSources = Object.fromEntries(
        Object.keys(metadata.sources)
          .sort()
          .map((name) => [name, sha256(sources[name]?.content ?? findImport(name).contents)]),
      );
      const artifact = {
        abi: contract.abi,
        bytecode: `0x${bytecode}`,
        compiler: { name: "solc", version },
        contractName,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
        // Where the constructor writes immutables into the runtime code (zeros above): they
        // differ per deployment, so `kassa doctor` masks them when it compares deployed code.
        immutableReferences: contract.evm.deployedBytecode.immutableReferences ?? {},
        settings: SETTINGS,
        sourceHash: usedSources[sourceName],
        sourceName,
        sources: usedSources,
        storageLayout: storageLayout(contract.storageLayout),
      };
      const isTest = sourceName.startsWith("contracts/test/");
      const file = join(ARTIFACTS_DIR, ...(isTest ? ["test"] : []), `${contractName}.json`);
      if (artifacts.has(file)) throw new Error(`two contracts named ${contractName}`);
      artifacts.set(file, stableJson(artifact));
    }
  }
  return artifacts;
}

function listArtifacts(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listArtifacts(full));
    else if (entry.name.endsWith(".json")) found.push(full);
  }
  return found.sort();
}

function check(artifacts) {
  const problems = [];
  for (const [file, text] of artifacts) {
    if (!existsSync(file)) problems.push(`missing: ${relative(REPO_ROOT, file)}`);
    else if (readFileSync(file, "utf8") !== text) problems.push(`differs: ${relative(REPO_ROOT, file)}`);
  }
  for (const file of listArtifacts(ARTIFACTS_DIR)) {
    if (!artifacts.has(file)) problems.push(`stale: ${relative(REPO_ROOT, file)}`);
  }
  if (problems.length > 0) {
    process.stderr.write(`${problems.join("\n")}\nrun: node contracts/build.mjs\n`);
    return 1;
  }
  process.stdout.write(`artifacts up to date (${artifacts.size} contracts, byte-identical)\n`);
  return 0;
}

function write(artifacts) {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  for (const [file, text] of artifacts) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    process.stdout.write(`wrote ${relative(REPO_ROOT, file)}\n`);
  }
  return 0;
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--check");
if (unknown.length > 0) {
  process.stderr.write(`usage: node contracts/build.mjs [--check]\n`);
  process.exit(2);
}
const artifacts = compile();
process.exit(args.includes("--check") ? check(artifacts) : write(artifacts));
