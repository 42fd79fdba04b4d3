#!/usr/bin/env node
// node-redis driven by the runner contract.
//
//   node node_redis_client.js [--lib redis4|redis5] [--resp 2|3] sub --host H --port P --channel C [--pattern] --out FILE
//   node node_redis_client.js [--lib redis4|redis5] [--resp 2|3] pub --host H --port P --channel C --count N --prefix S [--binary]
//
// --lib (or the env var NODE_REDIS_LIB; default redis4) picks the package
// from package.json. node-redis 4 speaks RESP2 only; node-redis 5 takes
// --resp (default 3 here, its `RESP` option; it sends HELLO 3 on connect).
//
// sub writes READY to FILE when the SUBSCRIBE (PSUBSCRIBE) is confirmed, and
// again on each "ready" event after a reconnect: node-redis resubscribes by
// itself in its socket initiator and emits "ready" only once the server has
// confirmed that. Then one line per message: MSG <channel hex> <payload hex>.
// It runs until killed, reconnecting with node-redis's default strategy.

"use strict";

const fs = require("fs");
const { parseArgs, payload } = require("./runner_args");

const args = parseArgs(process.argv.slice(2), { lib: process.env.NODE_REDIS_LIB || "redis4", resp: "" });
if (!["redis4", "redis5"].includes(args.lib)) {
  console.error(`node_redis_client: unknown --lib ${args.lib} (redis4 or redis5)`);
  process.exit(2);
}
if (args.lib === "redis5" && !args.resp) {
  args.resp = "3";
}
if (args.lib === "redis4" && args.resp && args.resp !== "2") {
  console.error("node_redis_client: node-redis 4 speaks RESP2 only");
  process.exit(2);
}
const { createClient } = require(args.lib);
const name = `node_redis_client(${args.lib}, RESP${args.resp || 2})`;
const log = (message) => console.error(`${name}: ${message}`);

function newClient(socketOptions) {
  const options = { socket: { host: args.host, port: args.port, connectTimeout: 5000, ...socketOptions } };
  if (args.lib === "redis5") {
    options.RESP = Number(args.resp);
  }
  return createClient(options);
}

const hex = (bytes) => Buffer.from(bytes).toString("hex");

async function subscribe() {
  const fd = fs.openSync(args.out, "a");
  const write = (line) => fs.writeSync(fd, line + "\n");
  const client = newClient({});
  let subscribed = false;
  let downSince = null;

  client.on("error", (error) => log(`error: ${error.message}`));
  client.on("end", () => log("connection ended"));
  client.on("reconnecting", () => {
    if (downSince === null) {
      downSince = Date.now();
    }
    log("reconnecting");
  });
  client.on("ready", () => {
    if (!subscribed) {
      return; // The first connection: the subscribe below reports READY.
    }
    log(`reconnected and resubscribed after ${downSince === null ? "?" : Date.now() - downSince} ms`);
    downSince = null;
    write("READY");
  });
  const listener = (message, channel) => write(`MSG ${hex(channel)} ${hex(message)}`);
  try {
    await client.connect();
    if (args.pattern) {
      await client.pSubscribe(args.channel, listener, true);
    } else {
      await client.subscribe(args.channel, listener, true);
    }
  } catch (error) {
    log(`subscribe failed: ${error.message}`);
    process.exit(1);
  }
  subscribed = true;
  write("READY");
}

async function publish() {
  // No reconnecting: any error ends the run.
  const client = newClient({ reconnectStrategy: false });
  client.on("error", () => {}); // Reported through the rejected promises.
  try {
    await client.connect();
    for (let i = 0; i < args.count; i++) {
      await client.publish(args.channel, payload(args, i));
    }
  } catch (error) {
    log(`pub failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`PUBLISHED ${args.count}`);
  // node-redis 5 names disconnect() destroy().
  await Promise.resolve(client.destroy ? client.destroy() : client.disconnect()).catch(() => {});
}

if (args.mode === "sub") {
  subscribe();
} else {
  publish();
}
