// tslab's kernel, assembled from tslab's own converter, executor and ZeroMQ server, with two
// differences that Jupyter clients rely on:
//
// 1. A failing cell is a Jupyter error (an `error` message on IOPub, and ename / evalue /
//    traceback in the execute_reply), for a thrown value and for TypeScript compile errors alike.
//    tslab prints both on stderr and replies a bare "error", so nbconvert, nbclient and the
//    notebook UI cannot tell a failure from a warning.
// 2. `stop_on_error: false` is honoured: the cells queued behind a failing one still run (what
//    `nbconvert --execute --allow-errors` asks for). tslab cancels every request that arrives
//    within 200 ms of a failure, whatever the client asked; with stop_on_error (the default) it
//    still does, as ipykernel aborts its queue.
"use strict";
const path = require("node:path");
const util = require("node:util");

/** Loads tslab's modules from its package folder. */
function tslabModules(tslabDir) {
  const dist = (name) => require(path.join(tslabDir, "dist", name));
  return { converter: dist("converter.js"), executor: dist("executor.js"), jupyter: dist("jupyter.js"), util: dist("util.js") };
}

/**
 * What the executor reports while a cell runs. tslab's executor writes a thrown value with
 * console.error(value) and each compile diagnostic with console.error("%s%d:%d - %s", file, line,
 * column, text); this console keeps them for the reply instead of printing them.
 */
function createCellReports(realConsole) {
  let reports = [];
  return {
    console: {
      log: (...args) => realConsole.log(...args),
      error: (...args) => {
        if (args[0] === "%s%d:%d - %s" && args.length === 5) reports.push({ kind: "diagnostic", file: String(args[1]).trim(), line: args[2], column: args[3], text: String(args[4]) });
        else if (args.length === 1) reports.push({ kind: "thrown", value: args[0] });
        else realConsole.error(...args);
      },
    },
    take() {
      const taken = reports;
      reports = [];
      return taken;
    },
  };
}

const INTERNAL_FRAME = /\(node:|node:internal|[\\/]node_modules[\\/]tslab[\\/]|[\\/]kernel[\\/]tslab_kernel\.cjs/;

/** ename / evalue / traceback for what failed in a cell (never empty: a failure with no report says so). */
function jupyterError(reports) {
  const diagnostics = reports.filter((r) => r.kind === "diagnostic");
  if (diagnostics.length > 0) {
    const lines = diagnostics.map((d) => `${d.file ? `${d.file} ` : ""}${d.line}:${d.column} - ${d.text}`);
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
    return { ename: "TSError", evalue: `${lines[0]}${more}`, traceback: [`TypeScript did not compile the cell (${diagnostics.length} error${diagnostics.length > 1 ? "s" : ""}):`, ...lines] };
  }
  const thrown = reports.find((r) => r.kind === "thrown");
  if (!thrown) return { ename: "Error", evalue: "the cell failed without saying why", traceback: [] };
  const value = thrown.value;
  if (value instanceof Error || (value && typeof value === "object" && typeof value.stack === "string" && typeof value.message === "string")) {
    const ename = typeof value.name === "string" && value.name ? value.name : "Error";
    const stack = typeof value.stack === "string" ? value.stack.split("\n") : [`${ename}: ${value.message}`];
    return { ename, evalue: String(value.message), traceback: stack.filter((line) => !INTERNAL_FRAME.test(line)) };
  }
  const ename = value === null || value === undefined ? String(value) : (value.constructor && value.constructor.name) || typeof value;
  const evalue = util.inspect(value);
  return { ename, evalue, traceback: [`Uncaught ${evalue}`] };
}

/** A failed cell, thrown inside the queue only to cancel what waits behind it. */
class FailedCell extends Error {
  constructor(outcome) {
    super("cell failed");
    this.outcome = outcome;
  }
}

function createHandlerClass(m) {
  return class GradlabHandler extends m.jupyter.JupyterHandlerImpl {
    constructor(executor, reports, notice) {
      super(executor, false);
      this.reports = reports;
      this.notice = notice;
    }

    async handleExecute(req, writeStream, writeDisplayData) {
      const stopOnError = req.stop_on_error !== false;
      let outcome;
      try {
        outcome = await this.execQueue.add(async () => {
          const result = await this.runCell(req, writeStream, writeDisplayData);
          if (result.error && stopOnError) throw new FailedCell(result);
          return result;
        });
      } catch (e) {
        if (e instanceof m.util.TaskCanceledError) return { status: "aborted" };
        if (!(e instanceof FailedCell)) throw e;
        outcome = e.outcome;
        // What tslab does after any failure; here only when the client asked for it.
        this.execQueue.reset(200);
      }
      if (outcome.error) return { status: "error", execution_count: outcome.count, ...outcome.error };
      return { status: "ok", execution_count: outcome.count };
    }

    async runCell(req, writeStream, writeDisplayData) {
      process.stdout.write = this.createWriteToIopub("stdout", writeStream);
      process.stderr.write = this.createWriteToIopub("stderr", writeStream);
      m.jupyter.lastWriteDisplayData = writeDisplayData;
      if (this.notice) {
        process.stderr.write(this.notice);
        this.notice = null;
      }
      const count = ++this.execCount;
      this.reports.take();
      let ok;
      try {
        ok = await this.executor.execute(req.code);
      } catch (error) {
        // The executor itself failed (tslab's converter throws on what it cannot emit).
        return { count, error: jupyterError([{ kind: "thrown", value: error }]) };
      }
      const reports = this.reports.take();
      if (ok) {
        // Diagnostics of a `//%module` cell do not fail it; show them as tslab does.
        for (const r of reports) if (r.kind === "diagnostic") process.stderr.write(`${r.file ? `${r.file} ` : ""}${r.line}:${r.column} - ${r.text}\n`);
        return { count, error: null };
      }
      return { count, error: jupyterError(reports) };
    }
  };
}

function createServerClass(m) {
  return class GradlabServer extends m.jupyter.ZmqServer {
    async handleExecute(sock, msg) {
      const publish = (type, content) => {
        const out = msg.createReply();
        out.header.msg_type = type;
        out.content = content;
        out.signAndSend(this.connInfo.key, this.iopub);
      };
      const writeStream = (name, text) => publish("stream", { name, text });
      const writeDisplayData = (data, update) => publish(update ? "update_display_data" : "display_data", data);
      const content = await this.handler.handleExecute(msg.content, writeStream, writeDisplayData);
      if (content.status === "error") publish("error", { ename: content.ename, evalue: content.evalue, traceback: content.traceback });
      const reply = msg.createReply();
      reply.header.msg_type = "execute_reply";
      reply.content = content;
      reply.signAndSend(this.connInfo.key, sock);
    }
  };
}

/**
 * Starts the kernel in the current folder. `notice`: a line for the first cell's stderr;
 * `onReady(executor, converters)` runs once the kernel listens.
 */
function startKernel({ tslabDir, configPath, notice, onReady }) {
  const m = tslabModules(tslabDir);
  let node = null;
  let browser = null;
  const converters = {
    get node() {
      return (node ??= m.converter.createConverter({ isJS: false, isBrowser: false }));
    },
    get browser() {
      return (browser ??= m.converter.createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      for (const c of [node, browser]) if (c) c.close();
    },
  };
  void converters.node; // tslab warms the converter before listening, too
  const reports = createCellReports(console);
  const executor = m.executor.createExecutor(process.cwd(), converters, reports.console);
  const Handler = createHandlerClass(m);
  const Server = createServerClass(m);
  const server = new Server(new Handler(executor, reports, notice ?? null), configPath);
  process.on("SIGINT", () => executor.interrupt());
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  return server.init().then(() => onReady && onReady(executor, converters));
}

module.exports = { startKernel, jupyterError, createCellReports };
