#include "peer/ctl/capture.hpp"

#include <pcap/pcap.h>

#include <memory>

namespace ikeme::ctl {
namespace {

// Link-layer types we can strip (values from pcap/dlt.h and the tcpdump link-type registry).
constexpr int kLinkNull = 0;  // BSD loopback: 4-byte host-order family
constexpr int kLinkEthernet = 1;
constexpr int kLinkRaw = 101;    // LINKTYPE_RAW
constexpr int kLinkRawDlt = 12;  // DLT_RAW on some platforms
constexpr int kLinkLinuxSll = 113;
constexpr int kLinkLinuxSll2 = 276;
constexpr int kLinkIpv4 = 228;
constexpr int kLinkIpv6 = 229;

enum class L3 { None, V4, V6, Unknown };

// Returns the offset of the IP header, and which IP version the link layer announces.
size_t strip_link(int link, ByteView frame, L3& l3) {
  ByteReader r(frame);
  uint16_t ethertype = 0;
  auto from_ethertype = [&](uint16_t t) {
    l3 = t == 0x0800 ? L3::V4 : t == 0x86DD ? L3::V6 : L3::None;
  };
  switch (link) {
    case kLinkEthernet: {
      if (!r.skip(12) || !r.u16(ethertype)) return 0;
      // 802.1Q / 802.1ad VLAN tags, possibly stacked
      while (ethertype == 0x8100 || ethertype == 0x88A8) {
        if (!r.skip(2) || !r.u16(ethertype)) return 0;
      }
      from_ethertype(ethertype);
      return r.position();
    }
    case kLinkLinuxSll:
      if (!r.skip(14) || !r.u16(ethertype)) return 0;
      from_ethertype(ethertype);
      return 16;
    case kLinkLinuxSll2:
      if (!r.u16(ethertype)) return 0;
      from_ethertype(ethertype);
      return 20;
    case kLinkNull: {
      uint8_t b0 = 0;
      if (!r.u8(b0)) return 0;
      l3 = L3::Unknown;  // family is in host order; the IP version nibble tells instead
      return 4;
    }
    case kLinkRaw:
    case kLinkRawDlt:
      l3 = L3::Unknown;
      return 0;
    case kLinkIpv4:
      l3 = L3::V4;
      return 0;
    case kLinkIpv6:
      l3 = L3::V6;
      return 0;
    default:
      l3 = L3::None;
      return 0;
  }
}

// Parses IPv4/IPv6 + UDP; false if the packet is not a complete, unfragmented UDP datagram.
bool parse_ip_udp(ByteView ip, L3 l3, UdpDatagram& out) {
  if (ip.empty()) return false;
  if (l3 == L3::Unknown) l3 = (ip[0] >> 4) == 4 ? L3::V4 : (ip[0] >> 4) == 6 ? L3::V6 : L3::None;
  ByteReader r(ip);
  uint8_t proto = 0;
  ByteView udp;
  if (l3 == L3::V4) {
    uint8_t vihl = 0, tos = 0, ttl = 0;
    uint16_t total = 0, id = 0, frag = 0;
    if (!r.u8(vihl) || !r.u8(tos) || !r.u16(total) || !r.u16(id) || !r.u16(frag) || !r.u8(ttl) ||
        !r.u8(proto))
      return false;
    size_t ihl = (vihl & 15) * 4u;
    if ((vihl >> 4) != 4 || ihl < 20 || total < ihl || total > ip.size()) return false;
    if ((frag & 0x3fff) != 0) return false;  // a fragment: not reassembled here
    ByteView src, dst;
    if (!r.skip(2) || !r.view(4, src) || !r.view(4, dst)) return false;
    out.src = *IpAddress::from_bytes(src);
    out.dst = *IpAddress::from_bytes(dst);
    udp = ip.subspan(ihl, total - ihl);
  } else if (l3 == L3::V6) {
    uint32_t vtf = 0;
    uint16_t plen = 0;
    uint8_t hop = 0;
    ByteView src, dst;
    if (!r.u32(vtf) || !r.u16(plen) || !r.u8(proto) || !r.u8(hop) || !r.view(16, src) ||
        !r.view(16, dst))
      return false;
    if (r.remaining() < plen) return false;
    out.src = *IpAddress::from_bytes(src);
    out.dst = *IpAddress::from_bytes(dst);
    ByteView rest = ip.subspan(40, plen);
    // Skip hop-by-hop (0), routing (43) and destination options (60); a fragment header (44)
    // means the datagram is not whole here.
    while (proto == 0 || proto == 43 || proto == 60) {
      ByteReader e(rest);
      uint8_t next = 0, len = 0;
      if (!e.u8(next) || !e.u8(len)) return false;
      size_t ext = (len + 1u) * 8u;
      if (rest.size() < ext) return false;
      rest = rest.subspan(ext);
      proto = next;
    }
    udp = rest;
  } else {
    return false;
  }
  if (proto != 17) return false;
  ByteReader u(udp);
  uint16_t length = 0, checksum = 0;
  if (!u.u16(out.src_port) || !u.u16(out.dst_port) || !u.u16(length) || !u.u16(checksum))
    return false;
  if (length < 8 || length > udp.size()) return false;
  ByteView payload = udp.subspan(8, length - 8);
  out.payload.assign(payload.begin(), payload.end());
  return true;
}

}  // namespace

Result<Capture, std::string> read_capture(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf),
      &pcap_close);
  if (!pcap) return Unexpected{path + ": " + errbuf};
  int link = pcap_datalink(pcap.get());
  Capture cap;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pcap.get(), &hdr, &data)) == 1) {
    ++cap.frames;
    ByteView frame(data, hdr->caplen);
    L3 l3 = L3::None;
    size_t off = strip_link(link, frame, l3);
    UdpDatagram d;
    d.frame = cap.frames;
    d.time_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000000 + hdr->ts.tv_usec;
    if (l3 == L3::None || off > frame.size() || !parse_ip_udp(frame.subspan(off), l3, d)) {
      ++cap.skipped_frames;
      continue;
    }
    cap.datagrams.push_back(std::move(d));
  }
  if (rc == PCAP_ERROR) return Unexpected{path + ": " + pcap_geterr(pcap.get())};
  return cap;
}

}  // namespace ikeme::ctl
