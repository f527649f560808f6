#!/usr/bin/python3
"""A scripted UDP endpoint for testing NAT behaviour in namespaces (tests/interop/nat_topo_test.sh).

usage: udp_probe.py PORT UNTIL_S [--echo] [SEND_AT_S:IP:DPORT ...]
Binds 0.0.0.0:PORT, sends the text "probe from PORT" to IP:DPORT at each given time (seconds
after start), prints "recv IP PORT TEXT" for every datagram received until UNTIL_S, and with --echo
answers each datagram with "seen IP:PORT" (the source it saw: how a mediation server reports a
mapped address). One process per port, so sends and receives share the socket (and the mapping).
"""
import select
import socket
import sys
import time


def main() -> int:
    port, until = int(sys.argv[1]), float(sys.argv[2])
    echo = "--echo" in sys.argv[3:]
    sends = []
    for arg in sys.argv[3:]:
        if arg == "--echo":
            continue
        at, ip, dport = arg.split(":")
        sends.append((float(at), ip, int(dport)))
    sends.sort()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        while sends and sends[0][0] <= now:
            _, ip, dport = sends.pop(0)
            sock.sendto(b"probe from %d" % port, (ip, dport))
        if now >= until:
            return 0
        wake = min([until] + [s[0] for s in sends])
        ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
        if ready:
            data, (ip, sport) = sock.recvfrom(2048)
            print("recv %s %d %s" % (ip, sport, data.decode(errors="replace")), flush=True)
            if echo:
                sock.sendto(b"seen %s:%d" % (ip.encode(), sport), (ip, sport))


if __name__ == "__main__":
    sys.exit(main())
