// The command line shared by the Node.js runners, and their payloads.
"use strict";

const USAGE =
  "usage: [--lib L] [--resp 2|3] sub --host H --port P --channel C [--pattern] --out FILE\n" +
  "       [--lib L] [--resp 2|3] pub --host H --port P --channel C --count N --prefix S [--binary]";

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

// Parses argv into { mode, host, port, channel, pattern, out, count, prefix,
// binary } plus the extra string options named in `defaults`.
function parseArgs(argv, defaults) {
  const args = { host: "127.0.0.1", pattern: false, binary: false, ...defaults };
  const valued = new Set(["host", "port", "channel", "out", "count", "prefix", ...Object.keys(defaults)]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "sub" || arg === "pub") {
      args.mode = arg;
    } else if (arg === "--pattern" || arg === "--binary") {
      args[arg.slice(2)] = true;
    } else if (arg.startsWith("--") && valued.has(arg.slice(2))) {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      args[arg.slice(2)] = argv[++i];
    } else {
      fail(`unknown argument ${arg}`);
    }
  }
  if (!args.mode) fail("sub or pub?");
  args.port = Number(args.port);
  if (!Number.isInteger(args.port) || args.port <= 0) fail("--port needs a port number");
  if (!args.channel) fail("--channel is needed");
  if (args.mode === "sub" && !args.out) fail("sub needs --out");
  if (args.mode === "pub") {
    args.count = Number(args.count);
    if (!Number.isInteger(args.count) || args.count < 0) fail("pub needs --count N");
    if (args.prefix === undefined) fail("pub needs --prefix");
  }
  return args;
}

const BINARY_SUFFIX = Buffer.from([0x00, 0x0d, 0x0a, 0xff]);

// Message i of a pub run: S-i, followed by 00 0d 0a ff with --binary.
function payload(args, i) {
  const text = Buffer.from(`${args.prefix}-${i}`);
  return args.binary ? Buffer.concat([text, BINARY_SUFFIX]) : text;
}

module.exports = { parseArgs, payload };
