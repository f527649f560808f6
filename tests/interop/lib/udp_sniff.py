#!/usr/bin/python3
"""Records every UDP/IPv4 datagram crossing a bridge: one line per datagram,
"EPOCH_SECONDS SRC SPORT DST DPORT UDP_PAYLOAD_LEN", flushed at once (no tcpdump needed).

usage: ip netns exec NS udp_sniff.py OUTFILE BRIDGE
Run in the namespace that holds BRIDGE. Counts each datagram once: only frames arriving on a
bridge port (never the copies leaving through another port, never the bridge device's own).
Runs until killed. Timestamps use the same clock as charon's logs (the wall clock).
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def main() -> int:
    out = open(sys.argv[1], "w", buffering=1)
    bridge = sys.argv[2]
    # ETH_P_ALL: a bridge port's rx handler consumes frames before protocol-specific packet
    # sockets see them; only "all protocols" taps run first.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    print("ready", file=sys.stderr, flush=True)
    while True:
        frame, addr = sock.recvfrom(65535)
        now = time.time()
        ifname, _, pkttype = addr[0], addr[1], addr[2]
        if pkttype == PACKET_OUTGOING or ifname == bridge or len(frame) < 14 + 20 + 8:
            continue
        if struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
            continue
        ip = frame[14:]
        if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            continue
        ihl = (ip[0] & 0x0F) * 4
        frag = struct.unpack("!H", ip[6:8])[0]
        if frag & 0x1FFF:
            continue  # a non-first fragment: its datagram was counted with the first
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl : ihl + 6])
        src = socket.inet_ntoa(ip[12:16])
        dst = socket.inet_ntoa(ip[16:20])
        out.write("%.6f %s %d %s %d %d\n" % (now, src, sport, dst, dport, ulen - 8))


if __name__ == "__main__":
    sys.exit(main())
