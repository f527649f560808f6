#include "peer/ctl/datagram_decoder.hpp"

#include <cstdio>

#include "ike/codec/framing.hpp"
#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/summary.hpp"

namespace ikeme::ctl {
namespace {

constexpr uint16_t kIkePort = 500;
constexpr uint16_t kNatTPort = 4500;

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

bool DatagramDecoder::known_flow(const UdpDatagram& d) const {
  Endpoint a{d.src, d.src_port}, b{d.dst, d.dst_port};
  return ike_flows_.count({a, b}) || ike_flows_.count({b, a});
}

void DatagramDecoder::remember_flow(const UdpDatagram& d) {
  ike_flows_.insert({Endpoint{d.src, d.src_port}, Endpoint{d.dst, d.dst_port}});
}

DecodedDatagram DatagramDecoder::decode_ike(const UdpDatagram& d, ByteView bytes, bool marker) {
  DecodedDatagram out;
  out.non_esp_marker = marker;
  auto parsed = ike::parse_message(bytes);
  if (!parsed) {
    out.kind = DecodedDatagram::Kind::Malformed;
    out.error = parsed.error();
    return out;
  }
  out.kind = DecodedDatagram::Kind::Ike;
  remember_flow(d);
  const ike::Message& m = *parsed;
  for (const ike::Payload& p : m.payloads) {
    const auto* n = p.as<ike::NotifyPayload>();
    if (!n || n->type != ike::NotifyType::ME_ENDPOINT) continue;
    auto ep = ike::parse_me_endpoint(n->data, ike::FamilyNone::Allowed);
    out.details.push_back("ME_ENDPOINT " + (ep ? ep->to_string() : ep.error().detail));
  }
  if (auto rules = ike::check_me_rules(m.header, m.payloads); !rules)
    out.details.push_back("IKE-ME rule violated: " + rules.error().detail);
  out.message = std::move(parsed.value());
  return out;
}

DecodedDatagram DatagramDecoder::decode(const UdpDatagram& d) {
  ByteView bytes(d.payload);
  if (d.src_port == kIkePort || d.dst_port == kIkePort) return decode_ike(d, bytes, false);

  ike::Framed f = ike::classify_nat_t(bytes);
  switch (f.kind) {
    case ike::DatagramKind::Keepalive: {
      DecodedDatagram out;
      out.kind = DecodedDatagram::Kind::Keepalive;
      return out;
    }
    case ike::DatagramKind::Ike:
      return decode_ike(d, f.payload, true);
    case ike::DatagramKind::Esp:
      if (known_flow(d) || d.src_port == kNatTPort || d.dst_port == kNatTPort) {
        DecodedDatagram out;
        out.kind = DecodedDatagram::Kind::Esp;
        out.esp_spi = f.esp_spi;
        out.esp_seq = f.esp_seq;
        return out;
      }
      break;
    case ike::DatagramKind::Invalid:
      break;
  }
  // Plain IKE between two mapped ports (both sides' port 500 behind NATs) is still IKE; anything
  // else that does not parse is not ours.
  if (auto h = ike::parse_header(bytes); h && h->major_version() == 2) return decode_ike(d, bytes, false);
  return DecodedDatagram{};
}

std::string format_decoded(const UdpDatagram& d, const DecodedDatagram& x, int64_t t0_ns,
                           bool verbose) {
  char head[160];
  double t = static_cast<double>(d.time_ns - t0_ns) / 1e9;
  std::snprintf(head, sizeof head, "%10.6f %s -> %s  ", t, endpoint_string(d.src, d.src_port).c_str(),
                endpoint_string(d.dst, d.dst_port).c_str());
  std::string line = head;
  switch (x.kind) {
    case DecodedDatagram::Kind::Ike: {
      const ike::Message& m = *x.message;
      line += ike::summarize(m);
      if (verbose)
        line += "  spi " + hex64(m.header.spi_i) + "_i " + hex64(m.header.spi_r) + "_r" +
                (x.non_esp_marker ? " (non-ESP marker)" : "");
      break;
    }
    case DecodedDatagram::Kind::Esp: {
      char esp[80];
      std::snprintf(esp, sizeof esp, "ESP SPI 0x%08x seq %u (%zu bytes)", x.esp_spi, x.esp_seq,
                    d.payload.size());
      line += esp;
      break;
    }
    case DecodedDatagram::Kind::Keepalive:
      line += "NAT-keepalive";
      break;
    case DecodedDatagram::Kind::Malformed:
      line += "malformed IKE (" + std::to_string(d.payload.size()) + " bytes): " +
              x.error->to_string();
      break;
    case DecodedDatagram::Kind::NotIke:
      line += "UDP, not IKE (" + std::to_string(d.payload.size()) + " bytes)";
      break;
  }
  for (const std::string& detail : x.details) line += "\n" + std::string(13, ' ') + detail;
  return line;
}

}  // namespace ikeme::ctl
