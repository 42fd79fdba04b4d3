#!/usr/bin/env node
// ioredis driven by the runner contract.
//
//   node ioredis_client.js [--lib ioredis5|ioredis6] sub --host H --port P --channel C [--pattern] --out FILE
//   node ioredis_client.js [--lib ioredis5|ioredis6] pub --host H --port P --channel C --count N --prefix S [--binary]
//
// --lib (or the env var IOREDIS_LIB; default ioredis5) picks the package from
// package.json: ioredis5 speaks RESP2 (INFO ready check first); ioredis6
// defaults to RESP3 (HELLO 3 pipelined before the ready check). --resp 2|3
// forces ioredis6's `protocol` option.
//
// sub writes READY to FILE when the SUBSCRIBE (PSUBSCRIBE) is confirmed, and
// again after each reconnect: ioredis resubscribes by itself in its "ready"
// handler, and a PING sent right after it is answered only once the server
// has confirmed that resubscription. Then one line per message:
// MSG <channel hex> <payload hex>. It runs until killed, reconnecting with
// ioredis's default retry strategy (50 ms more per attempt, at most 2 s).

"use strict";

const fs = require("fs");
const { parseArgs, payload } = require("./runner_args");

const args = parseArgs(process.argv.slice(2), { lib: process.env.IOREDIS_LIB || "ioredis5", resp: "" });
if (!["ioredis5", "ioredis6"].includes(args.lib)) {
  console.error(`ioredis_client: unknown --lib ${args.lib} (ioredis5 or ioredis6)`);
  process.exit(2);
}
const Redis = require(args.lib);
const name = `ioredis_client(${args.lib})`;
const log = (message) => console.error(`${name}: ${message}`);

function options(extra) {
  const o = { host: args.host, port: args.port, connectTimeout: 5000, ...extra };
  if (args.resp) {
    o.protocol = Number(args.resp);
  }
  return o;
}

function subscribe() {
  const fd = fs.openSync(args.out, "a");
  const write = (line) => fs.writeSync(fd, line + "\n");
  const redis = new Redis(options({}));
  let subscribed = false;
  let downSince = null;

  redis.on("error", (error) => log(`error: ${error.message}`));
  redis.on("close", () => {
    if (downSince === null) {
      downSince = Date.now();
      log("connection closed");
    }
  });
  redis.on("reconnecting", (delay) => log(`reconnecting in ${delay} ms`));
  redis.on("ready", () => {
    if (!subscribed) {
      return; // The first connection: the subscribe() below reports READY.
    }
    // ioredis's own "ready" handler has just written the resubscription
    // (emit runs it synchronously); a PING queued after it is answered after
    // the server's confirmation.
    setImmediate(() => {
      redis.ping().then(
        () => {
          log(`reconnected and resubscribed after ${Date.now() - downSince} ms`);
          downSince = null;
          write("READY");
        },
        (error) => log(`ping after reconnect failed: ${error.message}`),
      );
    });
  });
  redis.on("messageBuffer", (channel, message) => {
    write(`MSG ${channel.toString("hex")} ${message.toString("hex")}`);
  });
  redis.on("pmessageBuffer", (_pattern, channel, message) => {
    write(`MSG ${channel.toString("hex")} ${message.toString("hex")}`);
  });
  const confirmed = args.pattern ? redis.psubscribe(args.channel) : redis.subscribe(args.channel);
  confirmed.then(
    () => {
      subscribed = true;
      downSince = null;
      write("READY");
    },
    (error) => {
      log(`subscribe failed: ${error.message}`);
      process.exit(1);
    },
  );
}

async function publish() {
  // No reconnecting and no retrying: any error ends the run.
  const redis = new Redis(options({ lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 }));
  redis.on("error", () => {}); // Reported through the rejected promises.
  try {
    await redis.connect();
    for (let i = 0; i < args.count; i++) {
      await redis.publish(args.channel, payload(args, i));
    }
  } catch (error) {
    log(`pub failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`PUBLISHED ${args.count}`);
  redis.disconnect();
}

if (args.mode === "sub") {
  subscribe();
} else {
  publish();
}
