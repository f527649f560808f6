#!/usr/bin/python3
"""Minimal strongSwan vici client for benchmarks (no python3-vici package on the machine).

Why not swanctl: one swanctl process per initiate costs several ms of fork/exec and plugin
loading, which would dominate a burst of 1000 setups; here every request goes over one socket,
and completion is taken from charon's own child-updown events, not from polling list-sas.

usage:
  vici_client.py SOCKET burst PREFIX FIRST COUNT [TIMEOUT_S [CONNECTIONS]]
      Registers for child-updown events, then sends COUNT "initiate" requests for CHILD_SA
      configs PREFIX%04d (FIRST .. FIRST+COUNT-1) with timeout=-1 (charon queues the
      initiation and answers at once), pipelined on one connection. Waits until COUNT
      CHILD_SAs came up or TIMEOUT_S passed. Prints key=value lines:
        requested, accepted (initiate answered success), up (distinct CHILD_SAs up),
        down (child-updown without up), elapsed_s (first request sent -> Nth up event),
        send_s (time to send+ack all requests), first_up_s, median_up_s
  vici_client.py SOCKET serial PREFIX FIRST COUNT
      Initiates the configs one after another, each with timeout=0 (charon answers only when
      the CHILD_SA is up or failed); prints one latency per line ("latency_ms=X ok=yes|no").
Exit status 0 only if every requested SA came up.
"""
import socket
import struct
import sys
import threading
import time

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN, EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, \
    EVENT_UNKNOWN, EVENT = range(8)
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = range(1, 7)


def encode(msg: dict) -> bytes:
    out = bytearray()
    for key, value in msg.items():
        k = key.encode()
        if isinstance(value, dict):
            out += bytes([SECTION_START, len(k)]) + k + encode(value) + bytes([SECTION_END])
        elif isinstance(value, list):
            out += bytes([LIST_START, len(k)]) + k
            for item in value:
                v = str(item).encode()
                out += bytes([LIST_ITEM]) + struct.pack("!H", len(v)) + v
            out += bytes([LIST_END])
        else:
            v = str(value).encode()
            out += bytes([KEY_VALUE, len(k)]) + k + struct.pack("!H", len(v)) + v
    return bytes(out)


def decode(data: bytes) -> dict:
    stack = [{}]
    pos = 0
    current_list = None
    while pos < len(data):
        kind = data[pos]
        pos += 1
        if kind in (SECTION_START, LIST_START, KEY_VALUE):
            n = data[pos]
            name = data[pos + 1:pos + 1 + n].decode(errors="replace")
            pos += 1 + n
        if kind == SECTION_START:
            section = {}
            stack[-1][name] = section
            stack.append(section)
        elif kind == SECTION_END:
            stack.pop()
        elif kind == KEY_VALUE:
            (n,) = struct.unpack("!H", data[pos:pos + 2])
            stack[-1][name] = data[pos + 2:pos + 2 + n].decode(errors="replace")
            pos += 2 + n
        elif kind == LIST_START:
            current_list = []
            stack[-1][name] = current_list
        elif kind == LIST_ITEM:
            (n,) = struct.unpack("!H", data[pos:pos + 2])
            current_list.append(data[pos + 2:pos + 2 + n].decode(errors="replace"))
            pos += 2 + n
        elif kind == LIST_END:
            current_list = None
        else:
            raise ValueError(f"bad vici element type {kind}")
    return stack[0]


class Connection:
    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def send(self, ptype: int, name: str = None, msg: dict = None):
        body = bytes([ptype])
        if name is not None:
            body += bytes([len(name)]) + name.encode()
        if msg is not None:
            body += encode(msg)
        self.sock.sendall(struct.pack("!I", len(body)) + body)

    def recv(self):
        """Returns (type, name or None, message dict)."""
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack("!I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    pkt, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    ptype, rest, name = pkt[0], pkt[1:], None
                    if ptype in (EVENT, CMD_REQUEST, EVENT_REGISTER, EVENT_UNREGISTER):
                        name = rest[1:1 + rest[0]].decode()
                        rest = rest[1 + rest[0]:]
                    return ptype, name, decode(rest)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("vici socket closed")
            self.buf += chunk

    def register(self, event: str):
        self.send(EVENT_REGISTER, event)
        ptype, _, _ = self.recv()
        if ptype != EVENT_CONFIRM:
            raise RuntimeError(f"cannot register for {event}")


def child_up_names(msg: dict):
    """CHILD_SA names (with unique ids) from a child-updown event that reports 'up'."""
    names = []
    for ike_name, ike in msg.items():
        if isinstance(ike, dict):
            for child_key in ike.get("child-sas", {}):
                names.append(f"{ike_name}/{child_key}/{ike.get('uniqueid')}")
    return names


def burst(path, prefix, first, count, timeout_s, nconns=1):
    events = Connection(path)
    events.register("child-updown")
    up_times = {}
    down = [0]
    done = threading.Event()
    t0 = [0.0]

    def listen():
        try:
            while len(up_times) < count:
                ptype, name, msg = events.recv()
                if ptype != EVENT or name != "child-updown":
                    continue
                now = time.monotonic()
                if msg.get("up") == "yes":
                    for key in child_up_names(msg):
                        up_times.setdefault(key, now)
                else:
                    down[0] += 1
        except (ConnectionError, OSError):
            pass
        done.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()

    conns = [Connection(path) for _ in range(nconns)]
    names = [f"{prefix}{i:04d}" for i in range(first, first + count)]
    t0[0] = time.monotonic()
    # Pipelined: all requests first (charon handles one connection's requests in order),
    # then the answers; timeout=-1 makes each answer immediate. Requests are dealt round-robin
    # over nconns connections, which charon serves in parallel.
    for i, n in enumerate(names):
        conns[i % nconns].send(CMD_REQUEST, "initiate", {"child": n, "timeout": "-1", "init-limits": "no"})
    accepted = 0
    for i, _ in enumerate(names):
        ptype, _, msg = conns[i % nconns].recv()
        if ptype == CMD_RESPONSE and msg.get("success") == "yes":
            accepted += 1
    send_s = time.monotonic() - t0[0]
    done.wait(timeout_s)
    times = sorted(up_times.values())
    up = len(times)
    print(f"requested={count}")
    print(f"accepted={accepted}")
    print(f"up={up}")
    print(f"down={down[0]}")
    print(f"send_s={send_s:.4f}")
    if times:
        print(f"first_up_s={times[0] - t0[0]:.4f}")
        print(f"median_up_s={times[len(times) // 2] - t0[0]:.4f}")
        print(f"elapsed_s={times[-1] - t0[0]:.4f}")
    return 0 if up == count else 1


def serial(path, prefix, first, count):
    cmd = Connection(path)
    failures = 0
    for i in range(first, first + count):
        t = time.monotonic()
        # timeout=0: the answer comes when the IKE_SA and its CHILD_SA are up (or failed).
        cmd.send(CMD_REQUEST, "initiate", {"child": f"{prefix}{i:04d}", "timeout": "0"})
        while True:
            ptype, _, msg = cmd.recv()
            if ptype == CMD_RESPONSE:
                break
        ms = (time.monotonic() - t) * 1000
        ok = msg.get("success") == "yes"
        failures += 0 if ok else 1
        print(f"latency_ms={ms:.3f} ok={'yes' if ok else 'no'}")
    return 0 if failures == 0 else 1


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode, prefix, first, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if path.startswith("unix://"):
        path = path[len("unix://"):]
    if mode == "burst":
        return burst(path, prefix, first, count, float(sys.argv[6]) if len(sys.argv) > 6 else 60.0,
                     int(sys.argv[7]) if len(sys.argv) > 7 else 1)
    if mode == "serial":
        return serial(path, prefix, first, count)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
