#!/usr/bin/python3
"""Hostile ESP-in-UDP for the userspace data plane tests (run inside a test namespace).

usage: esp_inject.py IFACE PEER_ADDR [PORT=4500] [TIMEOUT_S=5]
Sniffs one ESP-in-UDP datagram leaving this namespace through IFACE towards PEER_ADDR:PORT
(AF_PACKET; some traffic must be flowing meanwhile), then sends to PEER_ADDR:PORT from an
ephemeral UDP port:
  replay     3 x the captured datagram unchanged        -> dropped as replays
  corrupt    2 x the datagram with a fresh, higher sequence number and one ciphertext byte
             flipped                                     -> dropped by the integrity check
  short      1 x the SPI and sequence number only (8 bytes + 4 zero bytes) -> malformed
  wrong-spi  2 x the datagram with a random unknown SPI  -> unknown SPI
Prints one line: "spi=<hex> replay=3 corrupt=2 short=1 wrong_spi=2". Exit 1 if nothing was
captured within the timeout.
"""
import os
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def capture(iface: str, peer: str, port: int, timeout: float) -> bytes:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    peer_bin = socket.inet_aton(peer)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            frame = s.recv(65535)
        except socket.timeout:
            continue
        if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or ip[16:20] != peer_bin:
            continue
        udp = ip[ihl:]
        dport = struct.unpack("!H", udp[2:4])[0]
        payload = udp[8:]
        if dport != port or len(payload) < 12 or payload[:4] == b"\0\0\0\0":
            continue  # not ESP (IKE carries the non-ESP marker, keepalives are 1 byte)
        return bytes(payload)
    return b""


def main() -> int:
    iface, peer = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 4500
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    esp = capture(iface, peer, port, timeout)
    if not esp:
        print("no ESP datagram to %s:%d seen on %s" % (peer, port, iface), file=sys.stderr)
        return 1
    spi, seq = struct.unpack("!II", esp[:8])
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        out.sendto(esp, (peer, port))
    for i in range(2):
        body = bytearray(esp)
        struct.pack_into("!I", body, 4, seq + 100000 + i)
        body[len(body) // 2] ^= 0x5A
        out.sendto(bytes(body), (peer, port))
    out.sendto(esp[:8] + b"\0\0\0\0", (peer, port))
    for _ in range(2):
        bad = struct.unpack("!I", os.urandom(4))[0] | 0x80000000
        if bad == spi:
            bad ^= 1
        out.sendto(struct.pack("!I", bad) + esp[4:], (peer, port))
    print("spi=%08x replay=3 corrupt=2 short=1 wrong_spi=2" % spi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
