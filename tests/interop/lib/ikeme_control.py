#!/usr/bin/python3
"""Minimal ikeme-peer control-socket client for benchmarks (newline-delimited JSON, see
docs/operations.md "The control socket").

Why not ikemectl: one process per initiate costs milliseconds of fork/exec, which would dominate
a burst of 1000 setups; here every request goes over one socket connection, pipelined.
ikeme-peer has no event subscription, so completion is taken from the initiator's `stats`
counters (engine.ike-established, engine.children-installed, engine.ike-failed), polled on a
second connection every POLL_MS (stats is cheap: counters only, no per-SA work).

usage:
  ikeme_control.py SOCKET burst PREFIX FIRST COUNT [TIMEOUT_S [POLL_MS]]
      Sends COUNT {"command":"initiate","ike":"PREFIX%04d"} requests (FIRST .. FIRST+COUNT-1)
      in one write on one connection (the daemon answers each once IKE_SA_INIT is sent), reads
      the answers in a thread, and polls stats until COUNT more IKE SAs are established with a
      CHILD_SA each (counters taken just before the first request), until every SA is either up
      or failed, or until TIMEOUT_S (default 60) passed. Prints key=value lines:
        requested, accepted (initiate answered ok), up (IKE SAs established, min'ed with
        CHILD_SAs installed), failed (engine.ike-failed), elapsed_s (first request sent -> the
        poll that saw COUNT up), send_s (first request -> last answer read), first_up_s,
        median_up_s, polls
  ikeme_control.py SOCKET serial PREFIX FIRST COUNT [TIMEOUT_S [POLL_MS]]
      Initiates the connections one after another; each one's latency runs from the initiate
      request to the poll that shows it established with its CHILD_SA (poll every POLL_MS,
      default 0.2). Prints "latency_ms=X ok=yes|no" per setup.
  ikeme_control.py SOCKET stats
      Prints the stats reply (one JSON line).
Exit status 0 only if every requested SA came up.
"""
import json
import socket
import sys
import threading
import time


class Connection:
    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def send_lines(self, objs):
        self.sock.sendall(b"".join(json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objs))

    def recv(self) -> dict:
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                return json.loads(line)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("control socket closed")
            self.buf += chunk

    def request(self, obj) -> dict:
        self.send_lines([obj])
        return self.recv()


def counters(conn: Connection):
    """(established, children installed, failed) from the engine's counters."""
    r = conn.request({"command": "stats"})
    if not r.get("ok"):
        raise RuntimeError(f"stats failed: {r}")
    e = r["stats"]["engine"]
    return e["ike-established"], e["children-installed"], e["ike-failed"]


def burst(path, prefix, first, count, timeout_s, poll_ms):
    cmd = Connection(path)
    poll = Connection(path)
    est0, kids0, failed0 = counters(poll)
    accepted = [0]
    answered = threading.Event()
    send_done = [None]

    def read_answers():
        try:
            for _ in range(count):
                if cmd.recv().get("ok"):
                    accepted[0] += 1
            send_done[0] = time.monotonic()
        except (ConnectionError, OSError, ValueError):
            pass
        answered.set()

    reader = threading.Thread(target=read_answers, daemon=True)
    requests = [{"command": "initiate", "ike": f"{prefix}{i:04d}"} for i in range(first, first + count)]
    reader.start()
    t0 = time.monotonic()
    cmd.send_lines(requests)
    deadline = t0 + timeout_s
    first_up = median_up = last_up = None
    up = failed = polls = 0
    while True:
        est, kids, fail = counters(poll)
        now = time.monotonic()
        polls += 1
        up = min(est - est0, kids - kids0)
        failed = fail - failed0
        if up > 0 and first_up is None:
            first_up = now
        if up * 2 >= count and median_up is None:
            median_up = now
        if up >= count:
            last_up = now
            break
        if up + failed >= count and answered.is_set() or now >= deadline:
            break
        time.sleep(poll_ms / 1000.0)
    answered.wait(max(0.0, deadline - time.monotonic()) + 1.0)
    print(f"requested={count}")
    print(f"accepted={accepted[0]}")
    print(f"up={up}")
    print(f"failed={failed}")
    print(f"polls={polls}")
    if send_done[0] is not None:
        print(f"send_s={send_done[0] - t0:.4f}")
    if first_up is not None:
        print(f"first_up_s={first_up - t0:.4f}")
    if median_up is not None:
        print(f"median_up_s={median_up - t0:.4f}")
    if last_up is not None:
        print(f"elapsed_s={last_up - t0:.4f}")
    return 0 if up >= count else 1


def serial(path, prefix, first, count, timeout_s, poll_ms):
    cmd = Connection(path)
    failures = 0
    for i in range(first, first + count):
        est0, kids0, failed0 = counters(cmd)
        t = time.monotonic()
        r = cmd.request({"command": "initiate", "ike": f"{prefix}{i:04d}"})
        ok = bool(r.get("ok"))
        while ok:
            est, kids, fail = counters(cmd)
            if est > est0 and kids > kids0:
                break
            if fail > failed0 or time.monotonic() - t > timeout_s:
                ok = False
                break
            time.sleep(poll_ms / 1000.0)
        ms = (time.monotonic() - t) * 1000
        failures += 0 if ok else 1
        print(f"latency_ms={ms:.3f} ok={'yes' if ok else 'no'}", flush=True)
    return 0 if failures == 0 else 1


def main():
    if len(sys.argv) >= 3 and sys.argv[2] == "stats":
        print(json.dumps(Connection(sys.argv[1]).request({"command": "stats"})))
        return 0
    if len(sys.argv) < 6 or sys.argv[2] not in ("burst", "serial"):
        print(__doc__, file=sys.stderr)
        return 2
    path, mode, prefix, first, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    timeout_s = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0
    if mode == "burst":
        return burst(path, prefix, first, count, timeout_s, float(sys.argv[7]) if len(sys.argv) > 7 else 2.0)
    return serial(path, prefix, first, count, timeout_s, float(sys.argv[7]) if len(sys.argv) > 7 else 0.2)


if __name__ == "__main__":
    sys.exit(main())
