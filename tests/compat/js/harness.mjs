// Shared by the nats.js compat tests: loads the pinned `nats` package and starts the server
// under test on a free loopback port, stopping it by PID.
//
// Which server runs is chosen by the environment, as for the C++ integration tests:
// TERN_TEST_SERVER is the binary's path, TERN_TEST_SERVER_KIND is "tern" or "nats".
// TERN_JS_DEPS_DIR is the directory whose node_modules holds `nats` (the build dir copy that
// `npm ci` filled; see tests/compat/CMakeLists.txt); without it, this directory's own
// node_modules is used, so `npm ci && node --test` works here too.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const depsDir = process.env.TERN_JS_DEPS_DIR || here;
const require = createRequire(path.join(depsDir, "package.json"));

// nats.js v2 is CommonJS; re-export the pieces the tests use.
export const nats = require("nats");
export const { connect, headers, Empty, ErrorCode, JSONCodec, StringCodec, NatsError } = nats;

export const serverKind = process.env.TERN_TEST_SERVER_KIND || "tern";
export const isTern = serverKind === "tern";

function serverBinary() {
  const bin = process.env.TERN_TEST_SERVER;
  if (!bin) throw new Error("TERN_TEST_SERVER is not set: the path of tern-server or nats-server");
  return bin;
}

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

// Every child still alive when this process exits is killed, so a crashed test leaves none.
const live = new Set();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

class ServerProcess {
  constructor(child, port, logPath, tmpDir) {
    this.child = child;
    this.port = port;
    this.logPath = logPath;
    this.tmpDir = tmpDir;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    this.exited.then(() => live.delete(child));
  }

  get pid() {
    return this.child.pid;
  }
  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }
  running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  log() {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  // SIGTERM, then SIGKILL after `graceMs`; removes the temp dir (log, store dir).
  async stop(graceMs = 5000) {
    if (this.running()) {
      process.kill(this.pid, "SIGTERM");
      let timer;
      const grace = new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
      const outcome = await Promise.race([this.exited, grace]);
      clearTimeout(timer);
      if (outcome === "timeout" && this.running()) process.kill(this.pid, "SIGKILL");
    }
    const status = await this.exited;
    rmSync(this.tmpDir, { recursive: true, force: true });
    return status;
  }
}

// Starts the server with `-a 127.0.0.1 -p <free port>` (plus `-js -sd <fresh dir>` when
// `jetstream` is set) and waits until it accepts connections. Tries three ports, in case
// another process took the free one first.
export async function startServer({ jetstream = false, waitMs = 10000 } = {}) {
  const bin = serverBinary();
  let lastLog = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmpDir = mkdtempSync(path.join(os.tmpdir(), "tern-js-compat-"));
    const port = await freePort();
    const args = ["-a", "127.0.0.1", "-p", String(port)];
    if (jetstream) args.push("-js", "-sd", path.join(tmpDir, "store"));
    const logPath = path.join(tmpDir, "server.log");
    const fd = openSync(logPath, "w");
    const child = spawn(bin, args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    live.add(child);
    const server = new ServerProcess(child, port, logPath, tmpDir);

    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && server.running()) {
      if (await canConnect(port)) return server;
      await sleep(20);
    }
    lastLog = server.log();
    await server.stop(1000);
  }
  throw new Error(`${bin} did not accept connections; its log:\n${lastLog}`);
}

// Resolves with the first `count` messages `sub` delivers; rejects after `ms`.
export async function collect(sub, count, ms = 2000) {
  const got = [];
  if (count === 0) return got;
  const timer = setTimeout(() => sub.unsubscribe(), ms);
  for await (const m of sub) {
    got.push(m);
    if (got.length === count) break;
  }
  clearTimeout(timer);
  if (got.length < count) throw new Error(`got ${got.length} of ${count} messages on ${sub.getSubject()} in ${ms} ms`);
  return got;
}

// Asserts that `promise` rejects with a JetStream API error carrying `errCode`, and returns it.
// nats.js puts the server's {code, err_code, description} on err.api_error.
export async function rejectsWithApiError(assert, promise, { code, errCode, description }) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an API error ${errCode}, got success`);
  assert.ok(err.api_error, `expected an API error ${errCode}, got ${err.code}: ${err.message}`);
  const want = { code, err_code: errCode };
  const got = { code: err.api_error.code, err_code: err.api_error.err_code };
  if (description !== undefined) {
    want.description = description;
    got.description = err.api_error.description;
  }
  assert.deepEqual(got, want);
  return err;
}
