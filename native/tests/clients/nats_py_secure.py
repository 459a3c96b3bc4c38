"""nats-py with a client's credentials: a round trip, and with --account the account
$SYS.REQ.USER.INFO names. Usage: python3 nats_py_secure.py URL [--user U --pass P]
[--token T] [--nkey SEEDFILE] [--ca FILE] [--cert FILE --key FILE] [--creds FILE]
[--account NAME]. Prints "OK" and exits 0."""

import argparse
import asyncio
import json
import ssl

import nats


async def main(args):
    options = {"allow_reconnect": False, "connect_timeout": 5}
    if args.ca:
        context = ssl.create_default_context(cafile=args.ca)
        if args.cert:
            context.load_cert_chain(args.cert, args.key)
        options["tls"] = context
    if args.creds:
        options["user_credentials"] = args.creds
    if args.user:
        options["user"], options["password"] = args.user, args.pass_
    if args.token:
        options["token"] = args.token
    if args.nkey:
        options["nkeys_seed"] = args.nkey
    nc = await nats.connect(args.url, **options)
    sub = await nc.subscribe("secure.echo")
    await nc.publish("secure.echo", b"hi")
    m = await sub.next_msg(timeout=5)
    assert m.data == b"hi", m
    if args.account:
        reply = await nc.request("$SYS.REQ.USER.INFO", b"", timeout=5)
        account = json.loads(reply.data)["data"]["account"]
        assert account == args.account, reply.data
    await nc.close()
    print("OK")


parser = argparse.ArgumentParser()
parser.add_argument("url")
for flag in ("ca", "cert", "key", "creds", "account", "user", "token", "nkey"):
    parser.add_argument("--" + flag)
parser.add_argument("--pass", dest="pass_")
asyncio.run(main(parser.parse_args()))
