#!/usr/bin/env python3
"""redis-py (Debian's python3-redis 4.3, RESP2) driven by the runner contract.

  python3 redis_py_client.py sub --host H --port P --channel C [--pattern] --out FILE
  python3 redis_py_client.py pub --host H --port P --channel C --count N --prefix S [--binary]

sub writes READY to FILE on each subscribe confirmation (the first and each
one after redis-py's own resubscribe on reconnect), then one line per message:
MSG <channel hex> <payload hex>. It runs until killed. When the connection
drops, get_message() raises; the loop logs it and calls get_message() again,
which makes redis-py reconnect and resubscribe by itself (PubSub.on_connect).

pub publishes S-0 .. S-(N-1) (with --binary each followed by 00 0d 0a ff),
awaiting each reply, prints PUBLISHED N and exits 0, or exits 1 on any error.
"""

import argparse
import sys
import time

try:
    import redis
except ImportError:
    # Debian's python3-redis lives in the system Python's dist-packages; a
    # python3 of its own (pyenv, a venv) first on PATH doesn't see it. Append
    # it last so that the interpreter's own packages keep precedence.
    sys.path.append("/usr/lib/python3/dist-packages")
    import redis


def log(message):
    print(f"redis_py_client: {message}", file=sys.stderr, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["sub", "pub"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--pattern", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--count", type=int)
    parser.add_argument("--prefix")
    parser.add_argument("--binary", action="store_true")
    args = parser.parse_args()
    if args.mode == "sub" and not args.out:
        parser.error("sub needs --out")
    if args.mode == "pub" and (args.count is None or args.prefix is None):
        parser.error("pub needs --count and --prefix")
    return args


def client(args, **options):
    return redis.Redis(
        host=args.host,
        port=args.port,
        decode_responses=False,
        socket_connect_timeout=5,
        **options,
    )


def subscribe(args):
    r = client(args, health_check_interval=2, retry_on_timeout=True)
    pubsub = r.pubsub()
    out = open(args.out, "a", encoding="ascii")

    def write(line):
        out.write(line + "\n")
        out.flush()

    if args.pattern:
        pubsub.psubscribe(args.channel)
    else:
        pubsub.subscribe(args.channel)
    down_since = None
    backoff = 0.05
    while True:
        try:
            message = pubsub.get_message(timeout=1.0)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
            if down_since is None:
                down_since = time.monotonic()
                log(f"connection lost ({error}); reconnecting")
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
            continue
        if message is None:
            continue
        kind = message["type"]
        if kind in (b"subscribe", b"psubscribe", "subscribe", "psubscribe"):
            if down_since is not None:
                log(f"reconnected and resubscribed after "
                    f"{time.monotonic() - down_since:.2f} s")
                down_since = None
                backoff = 0.05
            write("READY")
        elif kind in (b"message", b"pmessage", "message", "pmessage"):
            write(f"MSG {message['channel'].hex()} {message['data'].hex()}")


def publish(args):
    r = client(args)
    suffix = b"\x00\r\n\xff" if args.binary else b""
    channel = args.channel.encode()
    for i in range(args.count):
        r.publish(channel, f"{args.prefix}-{i}".encode() + suffix)
    print(f"PUBLISHED {args.count}", flush=True)


def main():
    args = parse_args()
    try:
        if args.mode == "sub":
            subscribe(args)
        else:
            publish(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # Any error is fatal and reported.
        log(f"{args.mode} failed: {type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
