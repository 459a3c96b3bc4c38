"""The client conformance kit's adapter for nats-py: connects to the URL given as its only
argument, follows line commands on stdin and prints events on stdout, as
tests/clients/README.md describes."""

import asyncio
import sys

import nats
from nats import errors


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def describe(msg):
    header = (msg.headers or {}).get("X-Kit") or "-"
    return "msg %s %s %s %s" % (msg.subject, msg.reply or "-", header, msg.data.decode("utf-8", "replace"))


async def main(url):
    async def disconnected():
        emit("disconnected")

    async def reconnected():
        emit("reconnected")

    async def closed():
        emit("closed")

    async def lame_duck():
        emit("lame_duck")

    async def error(e):
        emit("error %s" % (e,))

    try:
        nc = await nats.connect(
            servers=[url],
            name="kit",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.1,
            ping_interval=0.5,
            max_outstanding_pings=2,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            closed_cb=closed,
            lame_duck_mode_cb=lame_duck,
            error_cb=error,
        )
    except Exception as e:  # noqa: BLE001 - reported to the kit
        emit("fatal %s" % (e,))
        sys.exit(1)
    emit("connected")

    async def on_msg(msg):
        emit(describe(msg))

    subs = {}
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.rstrip("\n").split(" ", 3)
        verb = words[0]

        def arg(i):
            return words[i] if i < len(words) else ""

        detail = ""
        try:
            if verb == "sub":
                subs[arg(1)] = await nc.subscribe(arg(1), cb=on_msg)
            elif verb == "unsub":
                await subs.pop(arg(1)).unsubscribe()
            elif verb == "pub":
                await nc.publish(arg(1), arg(2).encode())
            elif verb == "pubsize":
                await nc.publish(arg(1), b"x" * int(arg(2)))
            elif verb == "burst":
                for i in range(int(arg(2))):
                    await nc.publish(arg(1), str(i).encode())
            elif verb == "request":
                try:
                    reply = await nc.request(arg(1), arg(2).encode(), timeout=int(arg(3)) / 1000)
                except errors.NoRespondersError:
                    raise RuntimeError("no_responders")
                except errors.TimeoutError:
                    raise RuntimeError("timeout")
                detail = reply.data.decode("utf-8", "replace")
            elif verb == "flush":
                await nc.flush(timeout=5)
            elif verb == "drain":
                await nc.drain()
            elif verb == "close":
                await nc.close()
                emit("ok close")
                return
            else:
                raise RuntimeError("unknown command %r" % verb)
        except Exception as e:  # noqa: BLE001 - reported to the kit
            text = str(e) or type(e).__name__
            emit("err %s %s" % (verb, text.replace("\n", " ")))
            continue
        emit("ok %s %s" % (verb, detail) if detail else "ok %s" % verb)
    await nc.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: kit_adapter.py URL\n")
        sys.exit(2)
    asyncio.run(main(sys.argv[1]))
