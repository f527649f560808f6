#!/usr/bin/python3
"""Minimal ICMP echo ("ping") for namespace tests: the machine has no ping binary.

usage: icmp_ping.py SRC DST [COUNT]
Binds a raw ICMP socket to SRC (so traffic selectors see the right source address), sends COUNT
echo requests and waits up to 1 s for each reply. Exit 0 only if every request was answered.
"""
import os
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.bind((src, 0))
    ident = os.getpid() & 0xFFFF
    payload = b"ikeme-interop-ping" * 3
    answered = 0
    for seq in range(1, count + 1):
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload
        start = time.monotonic()
        sock.sendto(packet, (dst, 0))
        while True:
            left = 1.0 - (time.monotonic() - start)
            if left <= 0:
                print(f"{src} -> {dst} seq={seq}: timeout")
                break
            sock.settimeout(left)
            try:
                data, addr = sock.recvfrom(4096)
            except socket.timeout:
                continue
            ihl = (data[0] & 0x0F) * 4
            icmp_type, _, _, r_ident, r_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if icmp_type == 0 and r_ident == ident and r_seq == seq and addr[0] == dst:
                ms = (time.monotonic() - start) * 1000
                print(f"{src} -> {dst} seq={seq}: reply in {ms:.2f} ms")
                answered += 1
                break
    print(f"{src} -> {dst}: {answered}/{count} answered")
    return 0 if answered == count else 1


if __name__ == "__main__":
    sys.exit(main())
