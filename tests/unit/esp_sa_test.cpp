// Userspace ESP SAs (esp-kernel/userspace/esp_sa.hpp): known-answer packets made with an
// independent implementation (tests/unit/esp_vectors.py, OpenSSL through python3-cryptography),
// round trips for every suite with and without ESN, dummy packets, sequence number exhaustion,
// and every way an inbound packet is dropped and counted.

#include <catch2/catch.hpp>
#include <cstring>

#include "esp-kernel/esp_packet.hpp"
#include "esp-kernel/userspace/esp_sa.hpp"

using namespace ikeme;
using namespace ikeme::esp;

namespace {

Bytes unhex(std::string_view s) {
  Bytes out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
  return out;
}

Bytes range(uint8_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(from + i);
  return b;
}

// The CBC IV source of the known-answer test: always 70 71 .. 7f.
class FixedRng final : public ike::crypto::Rng {
 public:
  void fill(std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x70 + i % 16);
  }
};

ike::EspAlgorithms alg(ike::EncrId e, uint16_t bits, ike::IntegId i = ike::IntegId::NONE,
                       bool esn = false) {
  return ike::EspAlgorithms{e, bits, i, esn};
}

// ICMP echo 10.1.0.10 -> 10.2.0.10, the payload of every known-answer packet.
const Bytes kInner = unhex("4500001c0001000040015f7a0a01000a0a02000a0800f7ff00000000");
const Bytes kSalt = unhex("cafebabe");

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes r = a;
  r.insert(r.end(), b.begin(), b.end());
  return r;
}

// Seals `inner` with `sa` and returns the packet.
Bytes seal(OutboundSa& sa, const Bytes& inner, uint8_t nh = kNextHeaderIpv4) {
  std::vector<uint8_t> buf(sa.headroom() + inner.size() + sa.tailroom());
  if (!inner.empty()) std::memcpy(buf.data() + sa.headroom(), inner.data(), inner.size());
  auto n = sa.seal(buf, inner.size(), nh);
  REQUIRE(n.ok());
  buf.resize(*n);
  return buf;
}

struct Suite {
  const char* name;
  ike::EspAlgorithms alg;
};

const Suite kSuites[] = {
    {"AES-GCM-128", alg(ike::EncrId::AES_GCM_16, 128)},
    {"AES-GCM-192", alg(ike::EncrId::AES_GCM_16, 192)},
    {"AES-GCM-256", alg(ike::EncrId::AES_GCM_16, 256)},
    {"ChaCha20-Poly1305", alg(ike::EncrId::CHACHA20_POLY1305, 256)},
    {"AES-CBC-128/SHA2-256", alg(ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128)},
    {"AES-CBC-192/SHA2-384", alg(ike::EncrId::AES_CBC, 192, ike::IntegId::HMAC_SHA2_384_192)},
    {"AES-CBC-256/SHA2-512", alg(ike::EncrId::AES_CBC, 256, ike::IntegId::HMAC_SHA2_512_256)},
};

struct SaPair {
  std::unique_ptr<OutboundSa> out;
  std::unique_ptr<InboundSa> in;
};

SaPair make_pair(const ike::EspAlgorithms& a, ike::crypto::Rng& rng, uint32_t window = 1024) {
  auto sizes = esp_key_sizes(a);
  REQUIRE(sizes.ok());
  Bytes ek = range(0x11, sizes->encr), ik = range(0x99, sizes->integ);
  auto out = OutboundSa::create(0xc0ffee01, a, ek, ik, rng);
  auto in = InboundSa::create(0xc0ffee01, a, ek, ik, window);
  REQUIRE(out.ok());
  REQUIRE(in.ok());
  return SaPair{std::move(*out), std::move(*in)};
}

}  // namespace

TEST_CASE("ESP SA: key sizes as KEYMAT hands them over (AEAD keys end in the 4-byte salt)",
          "[esp]") {
  CHECK(esp_key_sizes(alg(ike::EncrId::AES_GCM_16, 128))->encr == 20);
  CHECK(esp_key_sizes(alg(ike::EncrId::AES_GCM_16, 256))->encr == 36);
  CHECK(esp_key_sizes(alg(ike::EncrId::CHACHA20_POLY1305, 256))->encr == 36);
  auto cbc = esp_key_sizes(alg(ike::EncrId::AES_CBC, 192, ike::IntegId::HMAC_SHA2_384_192));
  REQUIRE(cbc.ok());
  CHECK(cbc->encr == 24);
  CHECK(cbc->integ == 48);
  // Refusals name the problem.
  auto sha1 = esp_key_sizes(alg(ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA1_96));
  REQUIRE_FALSE(sha1.ok());
  CHECK_THAT(sha1.error(), Catch::Contains("not supported by the userspace data plane"));
  CHECK_FALSE(esp_key_sizes(alg(ike::EncrId::AES_CBC, 128)).ok());  // CBC needs integrity
  FixedRng rng;
  auto wrong = OutboundSa::create(1000, alg(ike::EncrId::AES_GCM_16, 128), range(0, 16), {}, rng);
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error(), Catch::Contains("expected 20/0"));
}

TEST_CASE("ESP SA: known answers (AES-GCM RFC 4106, ChaCha20-Poly1305 RFC 7634, AES-CBC/HMAC)",
          "[esp]") {
  FixedRng rng;
  SECTION("AES-GCM-128, sequence number 1: sealed exactly, and opened") {
    const Bytes key = concat(range(0x00, 16), kSalt);
    const Bytes expected = unhex(
        "11223344000000010000000000000001f70519854a7e51f4db1a9e674c7ea93dd96a814ab1f7bf7afeb51ff4"
        "76ef2b3f2f0475ac370e1a4b63848ae8bd3fddbf");
    auto out = OutboundSa::create(0x11223344, alg(ike::EncrId::AES_GCM_16, 128), key, {}, rng);
    REQUIRE(out.ok());
    CHECK(seal(**out, kInner) == expected);
    auto in = InboundSa::create(0x11223344, alg(ike::EncrId::AES_GCM_16, 128), key, {});
    REQUIRE(in.ok());
    Bytes packet = expected;
    auto opened = (*in)->open(packet);
    REQUIRE(opened.ok());
    CHECK(Bytes(opened->payload.begin(), opened->payload.end()) == kInner);
    CHECK(opened->next_header == kNextHeaderIpv4);
    CHECK(opened->sequence == 1);
  }
  SECTION("ChaCha20-Poly1305 with ESN: sequence number 2^32 + 5 (AAD SPI | seq hi | seq lo)") {
    const Bytes key = concat(range(0x20, 32), kSalt);
    auto out = OutboundSa::create(0x55667788, alg(ike::EncrId::CHACHA20_POLY1305, 256, {}, true),
                                  key, {}, rng);
    REQUIRE(out.ok());
    (*out)->set_sequence(0x100000004);
    CHECK(seal(**out, kInner) ==
          unhex("5566778800000005000000010000000545393180bd313b32c1c8057208f176b353cc1332ee3c07c4a"
                "23c511d0306925cecdd7e6e9546b06f09661fd6e219dd5f"));
  }
  SECTION("AES-GCM-256, sequence number 7: opened") {
    const Bytes key = concat(range(0x20, 32), kSalt);
    auto in = InboundSa::create(0x0a0b0c0d, alg(ike::EncrId::AES_GCM_16, 256), key, {});
    REQUIRE(in.ok());
    Bytes packet = unhex(
        "0a0b0c0d0000000700000000000000070f5fc70040db6e21d3eb6adfca03f68b9784c549514e925cb29928"
        "07c3b9704ed2b2fd7b101c34ee3be108774bf461bc");
    auto opened = (*in)->open(packet);
    REQUIRE(opened.ok());
    CHECK(Bytes(opened->payload.begin(), opened->payload.end()) == kInner);
    CHECK(opened->sequence == 7);
  }
  SECTION("AES-CBC-128 + HMAC-SHA2-256-128: sealed exactly (fixed IV), and opened") {
    const Bytes expected = unhex(
        "0102030400000001707172737475767778797a7b7c7d7e7f01ea140a08e660b942e26d236d62bf73878fc99"
        "85feca874b14b451924bb6e4add05ea90414fddd24078fc356db37c4b");
    auto a = alg(ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128);
    auto out = OutboundSa::create(0x01020304, a, range(0x00, 16), range(0x40, 32), rng);
    REQUIRE(out.ok());
    CHECK(seal(**out, kInner) == expected);
    auto in = InboundSa::create(0x01020304, a, range(0x00, 16), range(0x40, 32));
    REQUIRE(in.ok());
    Bytes packet = expected;
    auto opened = (*in)->open(packet);
    REQUIRE(opened.ok());
    CHECK(Bytes(opened->payload.begin(), opened->payload.end()) == kInner);
  }
}

TEST_CASE("ESP SA: every suite round-trips every payload size, with and without ESN", "[esp]") {
  ike::crypto::DeterministicRng rng(7);
  for (const Suite& s : kSuites)
    for (bool esn : {false, true}) {
      INFO(s.name << (esn ? " ESN" : ""));
      ike::EspAlgorithms a = s.alg;
      a.esn = esn;
      auto p = make_pair(a, rng);
      for (size_t size :
           {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{13}, size_t{14}, size_t{15},
            size_t{16}, size_t{17}, size_t{63}, size_t{1400}, size_t{9000}}) {
        Bytes inner = range(static_cast<uint8_t>(size), size);
        Bytes packet = seal(*p.out, inner, kNextHeaderIpv6);
        // Whole blocks for CBC, 4-byte alignment always (RFC 4303 §2.4).
        CHECK((packet.size() - kEspHeaderSize) % 4 == 0);
        auto opened = p.in->open(packet);
        REQUIRE(opened.ok());
        CHECK(Bytes(opened->payload.begin(), opened->payload.end()) == inner);
        CHECK(opened->next_header == kNextHeaderIpv6);
      }
      CHECK(p.in->stats().packets == 12);
      CHECK(p.out->stats().packets == 12);
      CHECK(p.in->stats().bytes == p.out->stats().bytes);
    }
}

TEST_CASE("ESP SA: AEAD IVs are the sequence number, CBC IVs are fresh", "[esp]") {
  ike::crypto::DeterministicRng rng(1);
  auto gcm = make_pair(alg(ike::EncrId::AES_GCM_16, 128), rng);
  Bytes first = seal(*gcm.out, kInner), second = seal(*gcm.out, kInner);
  CHECK(Bytes(first.begin() + 8, first.begin() + 16) == unhex("0000000000000001"));
  CHECK(Bytes(second.begin() + 8, second.begin() + 16) == unhex("0000000000000002"));
  CHECK(Bytes(second.begin() + 4, second.begin() + 8) == unhex("00000002"));
  auto cbc = make_pair(alg(ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128), rng);
  Bytes c1 = seal(*cbc.out, kInner), c2 = seal(*cbc.out, kInner);
  CHECK(Bytes(c1.begin() + 8, c1.begin() + 24) != Bytes(c2.begin() + 8, c2.begin() + 24));
}

TEST_CASE("ESP SA: replayed, too old and zero sequence numbers are dropped and counted", "[esp]") {
  ike::crypto::DeterministicRng rng(2);
  auto p = make_pair(alg(ike::EncrId::AES_GCM_16, 128), rng, 64);
  std::vector<Bytes> sent;
  for (int i = 0; i < 200; ++i) sent.push_back(seal(*p.out, kInner));
  auto open = [&](size_t seq) {  // packet with sequence number seq (1-based)
    Bytes copy = sent[seq - 1];
    return p.in->open(copy);
  };
  REQUIRE(open(100).ok());
  // Out of order inside the window: accepted once, then a duplicate.
  REQUIRE(open(60).ok());
  auto again = open(60);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error() == DropReason::Replay);
  REQUIRE(open(37).ok());  // 100 - 37 = 63: the window's oldest slot (64 packets)
  auto old = open(36);     // left of the window
  REQUIRE_FALSE(old.ok());
  CHECK(old.error() == DropReason::Replay);
  CHECK_FALSE(open(100).ok());
  // Moving far ahead clears the window; numbers behind stay dropped.
  REQUIRE(open(200).ok());
  CHECK_FALSE(open(120).ok());
  REQUIRE(open(150).ok());
  CHECK_FALSE(open(150).ok());
  CHECK(p.in->stats().dropped_replay == 5);
  CHECK(p.in->stats().packets == 5);
  // Sequence number 0 is never sent and never accepted.
  Bytes zero = sent[0];
  std::memset(zero.data() + 4, 0, 4);
  auto z = p.in->open(zero);
  REQUIRE_FALSE(z.ok());
  CHECK(z.error() == DropReason::Replay);
}

TEST_CASE("ESP SA: a forged packet never moves the window (integrity before accept)", "[esp]") {
  ike::crypto::DeterministicRng rng(3);
  auto p = make_pair(alg(ike::EncrId::CHACHA20_POLY1305, 256), rng);
  Bytes good = seal(*p.out, kInner);
  Bytes forged = good;
  forged[7] = 0x77;  // sequence number 0x77: covered by the AAD, so the ICV fails
  auto f = p.in->open(forged);
  REQUIRE_FALSE(f.ok());
  CHECK(f.error() == DropReason::Integrity);
  CHECK(p.in->window().highest() == 0);
  REQUIRE(p.in->open(good).ok());
  CHECK(p.in->window().highest() == 1);
}

TEST_CASE("ESP SA: corrupted and short packets are dropped and counted, per suite", "[esp]") {
  ike::crypto::DeterministicRng rng(4);
  for (const Suite& s : kSuites) {
    INFO(s.name);
    auto p = make_pair(s.alg, rng);
    Bytes packet = seal(*p.out, kInner);
    // Every byte after the SPI, flipped in turn, is caught (by the ICV; the sequence number
    // is covered by it too). The window never moves, so the same number can be tried again.
    for (size_t i = 4; i < packet.size(); ++i) {
      Bytes bad = packet;
      bad[i] ^= 0x80;  // 0x01 on the last sequence byte would make it 0, a replay
      auto r = p.in->open(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error() == DropReason::Integrity);
    }
    CHECK(p.in->stats().dropped_integrity == packet.size() - 4);
    // Truncations: shorter than header + IV + ICV + trailer, or not whole blocks.
    for (size_t len :
         {size_t{0}, size_t{4}, size_t{8}, size_t{12}, size_t{20}, packet.size() - 1}) {
      Bytes cut(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(len));
      auto r = p.in->open(cut);
      REQUIRE_FALSE(r.ok());
      if (len < packet.size() - 1) CHECK(r.error() == DropReason::Malformed);
    }
    CHECK(p.in->stats().dropped_malformed >= 5);
    // The untouched packet still opens.
    REQUIRE(p.in->open(packet).ok());
  }
}

TEST_CASE("ESP SA: dummy packets (next header 59) are verified, counted and not delivered",
          "[esp]") {
  ike::crypto::DeterministicRng rng(5);
  auto p = make_pair(alg(ike::EncrId::AES_GCM_16, 256), rng);
  Bytes dummy = seal(*p.out, range(0, 40), kNextHeaderDummy);
  auto r = p.in->open(dummy);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == DropReason::Dummy);
  CHECK(p.in->stats().dummies == 1);
  CHECK(p.in->stats().packets == 0);
  // Its sequence number was consumed: a replay of it is a replay.
  Bytes again = seal(*p.out, kInner);
  REQUIRE(p.in->open(again).ok());
}

TEST_CASE("ESP SA: sequence numbers never cycle (32 bits without ESN, 64 with)", "[esp]") {
  ike::crypto::DeterministicRng rng(6);
  auto p = make_pair(alg(ike::EncrId::AES_GCM_16, 128), rng);
  p.out->set_sequence(0xfffffffeu);
  Bytes last = seal(*p.out, kInner);
  CHECK(Bytes(last.begin() + 4, last.begin() + 8) == unhex("ffffffff"));
  std::vector<uint8_t> buf(2048);
  auto refused = p.out->seal(buf, 10, kNextHeaderIpv4);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error(), Catch::Contains("exhausted"));
  auto esn = make_pair(alg(ike::EncrId::AES_GCM_16, 128, {}, true), rng);
  esn.out->set_sequence(0xffffffffu);
  Bytes wrapped = seal(*esn.out, kInner);
  CHECK(Bytes(wrapped.begin() + 4, wrapped.begin() + 8) == unhex("00000000"));           // low half
  CHECK(Bytes(wrapped.begin() + 8, wrapped.begin() + 16) == unhex("0000000100000000"));  // IV
}

TEST_CASE("replay window: ESN high half guessed from the window (RFC 4303 A2.2)", "[esp]") {
  ReplayWindow w(64);
  CHECK(w.size() == 64);
  CHECK(ReplayWindow(100).size() == 128);  // rounded up to whole 64-bit words
  CHECK(w.extend(5, false) == 5);
  CHECK(w.extend(5, true) == 5);
  w.accept(0xfffffff0u);
  // Near the top of the first block: small numbers have wrapped into the next one.
  CHECK(w.extend(5, true) == 0x100000005u);
  CHECK(w.extend(0xffffffe0u, true) == 0xffffffe0u);
  w.accept(0x100000005u);
  // Now the window spans both blocks: its bottom is still in the first.
  CHECK(w.extend(0xfffffff8u, true) == 0xfffffff8u);
  CHECK(w.extend(7, true) == 0x100000007u);
  CHECK(w.check(0xfffffff0u) == ReplayWindow::Verdict::Duplicate);
  CHECK(w.check(0xfffffff1u) == ReplayWindow::Verdict::Ok);
  CHECK(w.check(0x100000005u - 64) == ReplayWindow::Verdict::TooOld);
}
