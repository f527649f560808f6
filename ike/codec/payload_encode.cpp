#include "ike/codec/payload_encode.hpp"

#include <string>

namespace ikeme::ike::detail {
namespace {

Unexpected<EncodeError> fail(std::string detail) {
  return Unexpected{EncodeError{std::move(detail)}};
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Writes a sub-structure with a 16-bit length at `length_at` bytes from its start.
template <class Fn>
Status<EncodeError> with_length(ByteWriter& w, size_t length_at, Fn&& body, const char* what) {
  size_t start = w.size();
  body();
  size_t length = w.size() - start;
  if (length > 0xffff) return fail(std::string(what) + " longer than 65535 bytes");
  w.patch_u16(start + length_at, static_cast<uint16_t>(length));
  return {};
}

Status<EncodeError> encode_sa(const SaPayload& sa, ByteWriter& w) {
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    if (p.transforms.size() > 255) return fail("more than 255 transforms in a proposal");
    if (p.spi.size() > 255) return fail("proposal SPI longer than 255 bytes");
    Status<EncodeError> inner;
    auto st = with_length(
        w, 2,
        [&] {
          w.u8(i + 1 < sa.proposals.size() ? 2 : 0);
          w.u8(0);
          w.u16(0);
          w.u8(p.number);
          w.u8(static_cast<uint8_t>(p.protocol));
          w.u8(static_cast<uint8_t>(p.spi.size()));
          w.u8(static_cast<uint8_t>(p.transforms.size()));
          w.bytes(p.spi);
          for (size_t t = 0; t < p.transforms.size() && inner.ok(); ++t) {
            const Transform& tr = p.transforms[t];
            inner = with_length(
                w, 2,
                [&] {
                  w.u8(t + 1 < p.transforms.size() ? 3 : 0);
                  w.u8(0);
                  w.u16(0);
                  w.u8(static_cast<uint8_t>(tr.type));
                  w.u8(0);
                  w.u16(tr.id);
                  for (const TransformAttribute& a : tr.attributes) {
                    w.u16(static_cast<uint16_t>((a.tv ? 0x8000 : 0) | (a.type & 0x7fff)));
                    if (a.tv) {
                      w.u16(a.value);
                    } else {
                      w.u16(static_cast<uint16_t>(a.data.size()));
                      w.bytes(a.data);
                    }
                  }
                },
                "transform");
          }
        },
        "proposal");
    if (!inner) return inner;
    if (!st) return st;
  }
  return {};
}

Status<EncodeError> encode_ts(const TsPayload& ts, ByteWriter& w) {
  if (ts.selectors.empty() || ts.selectors.size() > 255)
    return fail("TS payload needs 1..255 selectors");
  w.u8(static_cast<uint8_t>(ts.selectors.size()));
  w.zeros(3);
  for (const TrafficSelector& s : ts.selectors) {
    size_t addr_len = s.type == TsType::IPV4_ADDR_RANGE ? 4 : 16;
    if (s.start_address.size() != addr_len || s.end_address.size() != addr_len)
      return fail("traffic selector address size does not match its type");
    w.u8(static_cast<uint8_t>(s.type));
    w.u8(s.ip_protocol);
    w.u16(static_cast<uint16_t>(8 + 2 * addr_len));
    w.u16(s.start_port);
    w.u16(s.end_port);
    w.bytes(s.start_address);
    w.bytes(s.end_address);
  }
  return {};
}

}  // namespace

PayloadType first_inner_type(const Payload& p) {
  if (const auto* sk = p.as<EncryptedPayload>()) return sk->first_inner;
  if (const auto* skf = p.as<EncryptedFragmentPayload>()) return skf->first_inner;
  return PayloadType::NONE;
}

Status<EncodeError> encode_payload_body(const Payload& payload, ByteWriter& w) {
  return std::visit(Overloaded{
                        [&](const SaPayload& sa) { return encode_sa(sa, w); },
                        [&](const KePayload& ke) -> Status<EncodeError> {
                          w.u16(static_cast<uint16_t>(ke.group));
                          w.u16(0);
                          w.bytes(ke.data);
                          return {};
                        },
                        [&](const IdPayload& id) -> Status<EncodeError> {
                          w.u8(static_cast<uint8_t>(id.id_type));
                          w.zeros(3);
                          w.bytes(id.data);
                          return {};
                        },
                        [&](const CertPayload& c) -> Status<EncodeError> {
                          w.u8(static_cast<uint8_t>(c.encoding));
                          w.bytes(c.data);
                          return {};
                        },
                        [&](const AuthPayload& a) -> Status<EncodeError> {
                          w.u8(static_cast<uint8_t>(a.method));
                          w.zeros(3);
                          w.bytes(a.data);
                          return {};
                        },
                        [&](const NoncePayload& n) -> Status<EncodeError> {
                          w.bytes(n.data);
                          return {};
                        },
                        [&](const NotifyPayload& n) -> Status<EncodeError> {
                          if (n.spi.size() > 255) return fail("notify SPI longer than 255 bytes");
                          w.u8(static_cast<uint8_t>(n.protocol));
                          w.u8(static_cast<uint8_t>(n.spi.size()));
                          w.u16(static_cast<uint16_t>(n.type));
                          w.bytes(n.spi);
                          w.bytes(n.data);
                          return {};
                        },
                        [&](const DeletePayload& d) -> Status<EncodeError> {
                          if (d.spis.size() > 0xffff)
                            return fail("too many SPIs in a Delete payload");
                          w.u8(static_cast<uint8_t>(d.protocol));
                          w.u8(d.spi_size);
                          w.u16(static_cast<uint16_t>(d.spis.size()));
                          for (const Bytes& spi : d.spis) {
                            if (spi.size() != d.spi_size) return fail("Delete SPI size mismatch");
                            w.bytes(spi);
                          }
                          return {};
                        },
                        [&](const VendorIdPayload& v) -> Status<EncodeError> {
                          w.bytes(v.data);
                          return {};
                        },
                        [&](const TsPayload& ts) { return encode_ts(ts, w); },
                        [&](const EncryptedPayload& sk) -> Status<EncodeError> {
                          w.bytes(sk.data);
                          return {};
                        },
                        [&](const EncryptedFragmentPayload& f) -> Status<EncodeError> {
                          w.u16(f.number);
                          w.u16(f.total);
                          w.bytes(f.data);
                          return {};
                        },
                        [&](const ConfigPayload& cp) -> Status<EncodeError> {
                          w.u8(static_cast<uint8_t>(cp.type));
                          w.zeros(3);
                          for (const ConfigAttribute& a : cp.attributes) {
                            if (a.value.size() > 0xffff)
                              return fail("configuration attribute too long");
                            w.u16(static_cast<uint16_t>(a.type) & 0x7fff);
                            w.u16(static_cast<uint16_t>(a.value.size()));
                            w.bytes(a.value);
                          }
                          return {};
                        },
                        [&](const EapPayload& e) -> Status<EncodeError> {
                          w.bytes(e.message);
                          return {};
                        },
                        [&](const UnknownPayload& u) -> Status<EncodeError> {
                          w.bytes(u.body);
                          return {};
                        },
                    },
                    payload.body);
}

}  // namespace ikeme::ike::detail
