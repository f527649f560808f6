#!/usr/bin/python3
"""Flushes the conntrack table of the current network namespace (like `conntrack -F`, which is
not installed here): one ctnetlink IPCTNL_MSG_CT_DELETE request without attributes.

usage: ip netns exec NS ct_flush.py
Used by nat_topo.sh's nat_rebind: with its mappings gone, a NAT router maps the next outbound
packet afresh, as a NAT that reboots or expires its state would.
"""
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 2


def main() -> int:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    nfgen = struct.pack("=BBH", socket.AF_INET, 0, 0)  # family, version, res_id
    msg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE
    header = struct.pack("=IHHII", 16 + len(nfgen), msg_type, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
    sock.send(header + nfgen)
    reply = sock.recv(4096)
    _, rtype, _, _, _ = struct.unpack("=IHHII", reply[:16])
    if rtype != NLMSG_ERROR:
        print("ct_flush: unexpected netlink reply type %d" % rtype, file=sys.stderr)
        return 1
    (err,) = struct.unpack("=i", reply[16:20])
    if err != 0:
        print("ct_flush: conntrack flush failed: errno %d" % -err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
