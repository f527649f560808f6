#include "peer/ctl/datagram_decoder.hpp"

#include <cstdio>

#include "ike/codec/framing.hpp"
#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/summary.hpp"
#include "ike/crypto/protected_payload.hpp"

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

void DatagramDecoder::describe(const std::vector<ike::Payload>& payloads, const ike::Header& h,
                               DecodedDatagram& out) const {
  for (const ike::Payload& p : payloads) {
    const auto* n = p.as<ike::NotifyPayload>();
    if (!n || n->type != ike::NotifyType::ME_ENDPOINT) continue;
    auto ep = ike::parse_me_endpoint(n->data, ike::FamilyNone::Allowed);
    out.details.push_back("ME_ENDPOINT " + (ep ? ep->to_string() : ep.error().detail));
  }
  if (auto rules = ike::check_me_rules(h, payloads); !rules)
    out.details.push_back("IKE-ME rule violated: " + rules.error().detail);
}

void DatagramDecoder::decrypt(ByteView raw, DecodedDatagram& out) {
  const ike::Message& m = *out.message;
  auto it = keys_->find({m.header.spi_i, m.header.spi_r});
  if (it == keys_->end()) {
    out.decrypt_error = "no keys for this IKE SA";
    return;
  }
  // The original initiator's messages carry the I flag and use SK_ei/SK_ai.
  const auto& cipher = m.header.initiator() ? *it->second.initiator : *it->second.responder;
  if (const auto* skf = m.find(ike::PayloadType::SKF)) {
    auto plain = ike::crypto::open_skf(m, raw, cipher);
    if (!plain) {
      out.decrypt_error = plain.error().detail;
      return;
    }
    const auto& f = *skf->as<ike::EncryptedFragmentPayload>();
    auto& assembler =
        fragments_[{m.header.spi_i, m.header.spi_r, m.header.message_id, m.header.response()}];
    auto added = assembler.add(f.number, f.total, f.first_inner, std::move(plain.value()));
    if (added.outcome == ike::FragmentAssembler::Outcome::Rejected) {
      out.decrypt_error = "fragment rejected: " + added.reason;
    } else if (added.outcome == ike::FragmentAssembler::Outcome::Complete) {
      auto inner = ike::parse_payload_chain(added.first_inner, added.plaintext);
      if (!inner) {
        out.decrypt_error = "reassembled payloads are malformed: " + inner.error().to_string();
        return;
      }
      out.inner = std::move(inner.value());
      out.reassembled_from = f.total;
    }
    return;
  }
  auto inner = ike::crypto::open_sk(m, raw, cipher);
  if (!inner) {
    out.decrypt_error = inner.error().detail;
    return;
  }
  out.inner = std::move(inner.value());
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
  out.message = std::move(parsed.value());
  describe(out.message->payloads, out.message->header, out);
  bool encrypted =
      out.message->find(ike::PayloadType::SK) || out.message->find(ike::PayloadType::SKF);
  if (encrypted && keys_) {
    decrypt(bytes, out);
    if (out.inner) describe(*out.inner, out.message->header, out);
  }
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
  if (auto h = ike::parse_header(bytes); h && h->major_version() == 2)
    return decode_ike(d, bytes, false);
  return DecodedDatagram{};
}

std::string format_decoded(const UdpDatagram& d, const DecodedDatagram& x, int64_t t0_ns,
                           bool verbose) {
  char head[160];
  double t = static_cast<double>(d.time_ns - t0_ns) / 1e9;
  std::snprintf(head, sizeof head, "%10.6f %s -> %s  ", t,
                endpoint_string(d.src, d.src_port).c_str(),
                endpoint_string(d.dst, d.dst_port).c_str());
  std::string line = head;
  switch (x.kind) {
    case DecodedDatagram::Kind::Ike: {
      const ike::Message& m = *x.message;
      line += ike::summarize(m);
      if (verbose)
        line += "  spi " + hex64(m.header.spi_i) + "_i " + hex64(m.header.spi_r) + "_r" +
                (x.non_esp_marker ? " (non-ESP marker)" : "");
      if (x.inner) {
        // Decrypted: the inner payloads, like strongSwan's "parsed ..." line.
        ike::Message opened{m.header, *x.inner};
        std::string what =
            x.reassembled_from
                ? "reassembled from " + std::to_string(x.reassembled_from) + " fragments"
                : std::string("decrypted");
        line += "\n" + std::string(13, ' ') + what + ": " + ike::summarize(opened);
      } else if (!x.decrypt_error.empty()) {
        line += "\n" + std::string(13, ' ') + "not decrypted: " + x.decrypt_error;
      }
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
      line +=
          "malformed IKE (" + std::to_string(d.payload.size()) + " bytes): " + x.error->to_string();
      break;
    case DecodedDatagram::Kind::NotIke:
      line += "UDP, not IKE (" + std::to_string(d.payload.size()) + " bytes)";
      break;
  }
  for (const std::string& detail : x.details) line += "\n" + std::string(13, ' ') + detail;
  return line;
}

}  // namespace ikeme::ctl
