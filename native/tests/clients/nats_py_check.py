"""nats-py against a Skiff server: pub/sub, wildcards, queue groups, request/reply, headers,
no responders, flush and drain. Usage: python3 nats_py_check.py nats://127.0.0.1:PORT
Prints "OK" and exits 0 on success."""

import asyncio
import sys

import nats
from nats.errors import NoRespondersError


async def main(url):
    nc = await nats.connect(url, allow_reconnect=False)

    # Clients gate features on the server version: Skiff reports the nats-server version it
    # matches, and nats-py's own tests assert major version 2.
    v = nc.connected_server_version
    assert (v.major, v.minor) == (2, 15), v

    # Wildcards.
    got = []
    sub = await nc.subscribe("a.*.c")
    tail = await nc.subscribe("a.>")
    await nc.publish("a.b.c", b"one")
    await nc.publish("a.x", b"two")
    await nc.flush()
    m = await sub.next_msg(timeout=5)
    assert (m.subject, m.data) == ("a.b.c", b"one"), m
    got = [(await tail.next_msg(timeout=5)).data for _ in range(2)]
    assert got == [b"one", b"two"], got

    # Queue group: each message once.
    q1 = await nc.subscribe("work", queue="q")
    q2 = await nc.subscribe("work", queue="q")
    await nc.flush()
    for i in range(50):
        await nc.publish("work", str(i).encode())
    await nc.flush()
    await asyncio.sleep(0.2)
    n = q1.pending_msgs + q2.pending_msgs
    assert n == 50, n
    # Drain waits for unread messages: drop these subscriptions first.
    await q1.unsubscribe()
    await q2.unsubscribe()

    # Request/reply.
    async def echo(msg):
        await msg.respond(msg.data)

    await nc.subscribe("echo", cb=echo)
    reply = await nc.request("echo", b"ping", timeout=5)
    assert reply.data == b"ping", reply

    # No responders.
    try:
        await nc.request("nobody", b"x", timeout=5)
        raise AssertionError("expected no responders")
    except NoRespondersError:
        pass

    # Headers.
    hsub = await nc.subscribe("h")
    await nc.publish("h", b"body", headers={"Trace-Id": "abc"})
    m = await hsub.next_msg(timeout=5)
    assert m.headers.get("Trace-Id") == "abc" and m.data == b"body", m

    for s in (sub, tail, hsub):
        await s.unsubscribe()
    await nc.drain()
    assert nc.is_closed
    print("OK")


asyncio.run(main(sys.argv[1]))
