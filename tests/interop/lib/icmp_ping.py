#!/usr/bin/python3
"""Minimal ICMP echo ("ping") for namespace tests: the machine has no ping binary.

usage: icmp_ping.py SRC DST [COUNT [INTERVAL]]
Binds a raw ICMP socket to SRC (so traffic selectors see the right source address), sends COUNT
echo requests and waits up to 1 s for each reply. Exit 0 only if every request was answered.
With INTERVAL (seconds), the requests are paced: one every INTERVAL whether or not the previous
one was answered (a steady stream, as `ping -i`), replies are collected until 1 s after the last
request, and the lost sequence numbers are listed ("lost: 17 18" or "lost: none"), each (up to
20) with the wall-clock time it was sent, to be found in the daemons' logs.
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


PAYLOAD = b"ikeme-interop-ping" * 3


def echo_request(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(header + PAYLOAD), ident, seq) + PAYLOAD


def echo_reply_seq(data: bytes, addr, ident: int, dst: str):
    """The sequence number of an echo reply to us from dst, or None."""
    ihl = (data[0] & 0x0F) * 4
    icmp_type, _, _, r_ident, r_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
    if icmp_type == 0 and r_ident == ident and addr[0] == dst:
        return r_seq
    return None


def paced(sock, src: str, dst: str, count: int, interval: float, ident: int) -> int:
    sent = {}
    send_errors = {}
    answered = set()
    start = time.monotonic()
    seq = 0
    while True:
        now = time.monotonic()
        if seq < count and now >= start + seq * interval:
            seq += 1
            sent[seq] = time.time()
            try:
                sock.sendto(echo_request(ident, seq), (dst, 0))
            except OSError as e:  # e.g. no route while a peer replaces its tunnel: lost
                send_errors[seq] = e.strerror
            continue
        deadline = start + seq * interval if seq < count else start + (count - 1) * interval + 1.0
        if now >= deadline:
            if seq >= count:
                break
            continue
        sock.settimeout(deadline - now)
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            continue
        r_seq = echo_reply_seq(data, addr, ident, dst)
        if r_seq in sent:
            answered.add(r_seq)
    lost = sorted(set(sent) - answered)
    print(f"{src} -> {dst}: {len(answered)}/{count} answered, every {interval} s")
    print("lost: " + (" ".join(str(s) for s in lost) if lost else "none"))
    for s in lost[:20]:
        why = f" (not sent: {send_errors[s]})" if s in send_errors else ""
        print(f"lost {s}: sent at {time.strftime('%H:%M:%S', time.localtime(sent[s]))}.{int(sent[s] * 1000) % 1000:03d}{why}")
    return 0 if not lost else 1


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.bind((src, 0))
    ident = os.getpid() & 0xFFFF
    if len(sys.argv) > 4:
        return paced(sock, src, dst, count, float(sys.argv[4]), ident)
    answered = 0
    for seq in range(1, count + 1):
        start = time.monotonic()
        sock.sendto(echo_request(ident, seq), (dst, 0))
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
            if echo_reply_seq(data, addr, ident, dst) == seq:
                ms = (time.monotonic() - start) * 1000
                print(f"{src} -> {dst} seq={seq}: reply in {ms:.2f} ms")
                answered += 1
                break
    print(f"{src} -> {dst}: {answered}/{count} answered")
    return 0 if answered == count else 1


if __name__ == "__main__":
    sys.exit(main())
