"""A deliberately naive client for the kit's own test: it speaks just enough NATS over a raw
socket to connect and subscribe, but never answers a PING, never reconnects and never
delivers a message. The kit must fail it, with reasons."""

import socket
import sys
import threading


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(url):
    host, port = url.split("://", 1)[-1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.recv(4096)  # INFO
    sock.sendall(
        b'CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":true,'
        b'"no_responders":true,"lang":"naive","version":"0","name":"kit"}\r\n'
    )

    def drain_socket():
        while sock.recv(65536):
            pass
        emit("disconnected")

    threading.Thread(target=drain_socket, daemon=True).start()
    emit("connected")
    sid = 0
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "sub":
            sid += 1
            sock.sendall(b"SUB %s %d\r\n" % (words[1].encode(), sid))
        emit("ok " + words[0])


if __name__ == "__main__":
    main(sys.argv[1])
