"""nats-py reacting to an asynchronous INFO: the test injects one with connect_urls and
ldm after this script prints READY. Prints OK once nats-py reported both.
Usage: python3 nats_py_info.py nats://127.0.0.1:PORT"""

import asyncio
import sys

import nats


async def main(url):
    discovered = asyncio.Event()
    lame_duck = asyncio.Event()

    async def on_discovered():
        discovered.set()

    async def on_lame_duck():
        lame_duck.set()

    nc = await nats.connect(
        url,
        name="py",
        allow_reconnect=False,
        discovered_server_cb=on_discovered,
        lame_duck_mode_cb=on_lame_duck,
    )
    await nc.flush()
    print("READY", flush=True)
    await asyncio.wait_for(discovered.wait(), 10)
    await asyncio.wait_for(lame_duck.wait(), 10)
    urls = [f"{u.hostname}:{u.port}" for u in nc.discovered_servers]
    assert "127.0.0.1:4333" in urls, urls
    await nc.close()
    print("OK")


asyncio.run(main(sys.argv[1]))
