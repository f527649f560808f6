#include "esp-kernel/userspace/esp_sa.hpp"

#include <mbedtls/aes.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
// mbedTLS 2.28 ships constant_time.h without a C++ linkage guard.
extern "C" {
#include <mbedtls/constant_time.h>
}

#include <cstring>

#include "esp-kernel/esp_packet.hpp"
#include "ike/crypto/aead_key.hpp"
#include "ike/crypto/sk_cipher.hpp"

namespace ikeme::esp {
namespace {

void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// AAD of the AEADs (RFC 4106 §5, RFC 7634 §3): SPI | seq low, or SPI | seq high | seq low.
size_t make_aad(uint8_t* aad, const uint8_t* header, uint64_t seq, bool esn) {
  std::memcpy(aad, header, 4);
  if (!esn) {
    std::memcpy(aad + 4, header + 4, 4);
    return 8;
  }
  put32(aad + 4, static_cast<uint32_t>(seq >> 32));
  std::memcpy(aad + 8, header + 4, 4);
  return 12;
}

}  // namespace

// One direction's cipher. packet = header(8) | IV | ciphertext(ct) | ICV.
class EspCipher {
 public:
  virtual ~EspCipher() = default;
  virtual size_t iv_size() const = 0;
  virtual size_t icv_size() const = 0;
  virtual size_t block_size() const = 0;  // the ciphertext must be a multiple of it
  // Writes the IV and ICV, encrypts the plaintext in place.
  virtual bool seal(uint8_t* packet, size_t ct, uint64_t seq, bool esn, ike::crypto::Rng& rng) = 0;
  // Verifies the ICV and decrypts in place; false if the ICV is wrong.
  virtual bool open(uint8_t* packet, size_t ct, uint64_t seq, bool esn) = 0;
};

namespace {

// AES-GCM-16 and ChaCha20-Poly1305: 8-byte IV (the sequence number), 4-byte salt, 16-byte ICV.
class AeadCipher final : public EspCipher {
 public:
  AeadCipher(bool chacha, ByteView key) : key_(chacha, key) {}

  size_t iv_size() const override { return 8; }
  size_t icv_size() const override { return 16; }
  size_t block_size() const override { return 1; }

  bool seal(uint8_t* packet, size_t ct, uint64_t seq, bool esn, ike::crypto::Rng&) override {
    uint8_t* iv = packet + kEspHeaderSize;
    put32(iv, static_cast<uint32_t>(seq >> 32));
    put32(iv + 4, static_cast<uint32_t>(seq));
    uint8_t aad[12];
    size_t aad_len = make_aad(aad, packet, seq, esn);
    uint8_t* data = iv + 8;
    return key_.seal(iv, aad, aad_len, data, data, ct, data + ct);
  }

  bool open(uint8_t* packet, size_t ct, uint64_t seq, bool esn) override {
    const uint8_t* iv = packet + kEspHeaderSize;
    uint8_t aad[12];
    size_t aad_len = make_aad(aad, packet, seq, esn);
    uint8_t* data = packet + kEspHeaderSize + 8;
    return key_.open(iv, aad, aad_len, data + ct, data, data, ct);
  }

 private:
  ike::crypto::AeadKey key_;
};

struct HmacSpec {
  mbedtls_md_type_t md;
  size_t key_size, icv_size;
};

std::optional<HmacSpec> hmac_spec(ike::IntegId integ) {
  switch (integ) {
    case ike::IntegId::HMAC_SHA2_256_128:
      return HmacSpec{MBEDTLS_MD_SHA256, 32, 16};
    case ike::IntegId::HMAC_SHA2_384_192:
      return HmacSpec{MBEDTLS_MD_SHA384, 48, 24};
    case ike::IntegId::HMAC_SHA2_512_256:
      return HmacSpec{MBEDTLS_MD_SHA512, 64, 32};
    default:
      return std::nullopt;
  }
}

// AES-CBC (RFC 3602) with a truncated HMAC-SHA2 (RFC 4868), encrypt-then-MAC.
class CbcHmacCipher final : public EspCipher {
 public:
  // `ok()` tells whether mbedTLS accepted the keys.
  CbcHmacCipher(HmacSpec spec, ByteView encr_key, ByteView integ_key) : spec_(spec) {
    mbedtls_aes_init(&enc_);
    mbedtls_aes_init(&dec_);
    mbedtls_md_init(&md_);
    const unsigned bits = static_cast<unsigned>(encr_key.size() * 8);
    ok_ = mbedtls_aes_setkey_enc(&enc_, encr_key.data(), bits) == 0 &&
          mbedtls_aes_setkey_dec(&dec_, encr_key.data(), bits) == 0 &&
          mbedtls_md_setup(&md_, mbedtls_md_info_from_type(spec.md), 1) == 0 &&
          mbedtls_md_hmac_starts(&md_, integ_key.data(), integ_key.size()) == 0;
  }
  ~CbcHmacCipher() override {
    mbedtls_aes_free(&enc_);
    mbedtls_aes_free(&dec_);
    mbedtls_md_free(&md_);
  }
  CbcHmacCipher(const CbcHmacCipher&) = delete;
  CbcHmacCipher& operator=(const CbcHmacCipher&) = delete;
  bool ok() const { return ok_; }

  size_t iv_size() const override { return 16; }
  size_t icv_size() const override { return spec_.icv_size; }
  size_t block_size() const override { return 16; }

  bool seal(uint8_t* packet, size_t ct, uint64_t seq, bool esn, ike::crypto::Rng& rng) override {
    uint8_t* iv = packet + kEspHeaderSize;
    rng.fill(std::span<uint8_t>(iv, 16));
    uint8_t chain[16];
    std::memcpy(chain, iv, 16);  // mbedTLS advances the IV it is given
    uint8_t* data = iv + 16;
    if (mbedtls_aes_crypt_cbc(&enc_, MBEDTLS_AES_ENCRYPT, ct, chain, data, data) != 0) return false;
    uint8_t mac[64];
    if (!hmac(packet, kEspHeaderSize + 16 + ct, seq, esn, mac)) return false;
    std::memcpy(data + ct, mac, spec_.icv_size);
    return true;
  }

  bool open(uint8_t* packet, size_t ct, uint64_t seq, bool esn) override {
    uint8_t mac[64];
    const size_t covered = kEspHeaderSize + 16 + ct;
    if (!hmac(packet, covered, seq, esn, mac)) return false;
    if (mbedtls_ct_memcmp(mac, packet + covered, spec_.icv_size) != 0) return false;
    uint8_t chain[16];
    std::memcpy(chain, packet + kEspHeaderSize, 16);
    uint8_t* data = packet + kEspHeaderSize + 16;
    return mbedtls_aes_crypt_cbc(&dec_, MBEDTLS_AES_DECRYPT, ct, chain, data, data) == 0;
  }

 private:
  // HMAC over the packet up to the ICV, plus the ESN high half (RFC 4303 §3.3.2.1).
  bool hmac(const uint8_t* data, size_t size, uint64_t seq, bool esn, uint8_t* out) {
    if (mbedtls_md_hmac_reset(&md_) != 0 || mbedtls_md_hmac_update(&md_, data, size) != 0)
      return false;
    if (esn) {
      uint8_t hi[4];
      put32(hi, static_cast<uint32_t>(seq >> 32));
      if (mbedtls_md_hmac_update(&md_, hi, 4) != 0) return false;
    }
    return mbedtls_md_hmac_finish(&md_, out) == 0;
  }

  HmacSpec spec_;
  bool ok_ = false;
  mbedtls_aes_context enc_, dec_;
  mbedtls_md_context_t md_;
};

Result<std::unique_ptr<EspCipher>, std::string> make_cipher(const ike::EspAlgorithms& alg,
                                                            ByteView encr_key, ByteView integ_key) {
  auto sizes = esp_key_sizes(alg);
  if (!sizes) return Unexpected{sizes.error()};
  if (encr_key.size() != sizes->encr || integ_key.size() != sizes->integ)
    return Unexpected{"ESP key sizes " + std::to_string(encr_key.size()) + "/" +
                      std::to_string(integ_key.size()) + " do not fit the algorithm (expected " +
                      std::to_string(sizes->encr) + "/" + std::to_string(sizes->integ) + ")"};
  if (alg.encr == ike::EncrId::AES_CBC) {
    auto c = std::make_unique<CbcHmacCipher>(*hmac_spec(alg.integ), encr_key, integ_key);
    if (!c->ok()) return Unexpected{std::string("mbedTLS refused the AES-CBC/HMAC keys")};
    return std::unique_ptr<EspCipher>(std::move(c));
  }
  return std::unique_ptr<EspCipher>(
      std::make_unique<AeadCipher>(alg.encr == ike::EncrId::CHACHA20_POLY1305, encr_key));
}

}  // namespace

std::string_view name(DropReason r) {
  switch (r) {
    case DropReason::Malformed:
      return "malformed";
    case DropReason::Integrity:
      return "integrity check failed";
    case DropReason::Replay:
      return "replayed";
    case DropReason::Dummy:
      return "dummy";
  }
  return "?";
}

Result<EspKeySizes, std::string> esp_key_sizes(const ike::EspAlgorithms& alg) {
  if (alg.encr == ike::EncrId::AES_CBC && !hmac_spec(alg.integ))
    return Unexpected{
        "ESP integrity algorithm " +
        ike::transform_id_name(ike::TransformType::INTEG, static_cast<uint16_t>(alg.integ)) +
        " is not supported by the userspace data plane (HMAC_SHA2_256_128, HMAC_SHA2_384_192, "
        "HMAC_SHA2_512_256 are)"};
  auto s = ike::crypto::sk_key_sizes(ike::crypto::SkAlgorithm{alg.encr, alg.key_bits, alg.integ});
  if (!s) return Unexpected{"ESP: " + s.error().detail};
  return EspKeySizes{s->encr, s->integ};
}

uint32_t esp_spi(ByteView packet) {
  return packet.size() < 4 ? 0 : get32(packet.data());
}

// --- outbound

OutboundSa::OutboundSa(uint32_t spi, bool esn, std::unique_ptr<EspCipher> c, ike::crypto::Rng& rng)
    : spi_(spi), esn_(esn), cipher_(std::move(c)), rng_(rng) {}
OutboundSa::~OutboundSa() = default;

Result<std::unique_ptr<OutboundSa>, std::string> OutboundSa::create(uint32_t spi,
                                                                    const ike::EspAlgorithms& alg,
                                                                    ByteView encr_key,
                                                                    ByteView integ_key,
                                                                    ike::crypto::Rng& rng) {
  auto c = make_cipher(alg, encr_key, integ_key);
  if (!c) return Unexpected{c.error()};
  return std::unique_ptr<OutboundSa>(new OutboundSa(spi, alg.esn, std::move(*c), rng));
}

size_t OutboundSa::headroom() const {
  return kEspHeaderSize + cipher_->iv_size();
}

size_t OutboundSa::tailroom() const {
  // Padding to the block size (at most block - 1 with the 2 trailer bytes; 3 for 4-byte
  // alignment), pad length, next header, ICV.
  return std::max<size_t>(cipher_->block_size(), 4) + 2 + cipher_->icv_size();
}

Result<size_t, std::string> OutboundSa::seal(std::span<uint8_t> buffer, size_t payload_size,
                                             uint8_t next_header) {
  const uint64_t limit = esn_ ? UINT64_MAX : UINT32_MAX;
  if (seq_ >= limit)
    return Unexpected{std::string("sequence number exhausted: the SA must be rekeyed")};
  const size_t head = headroom();
  const size_t align = std::max<size_t>(cipher_->block_size(), 4);
  const size_t pad = esp_padding_length(payload_size, align);
  const size_t ct = payload_size + pad + 2;
  const size_t total = head + ct + cipher_->icv_size();
  if (buffer.size() < total) return Unexpected{std::string("ESP buffer too small")};
  ++seq_;
  uint8_t* p = buffer.data();
  put32(p, spi_);
  put32(p + 4, static_cast<uint32_t>(seq_));
  uint8_t* trailer = p + head + payload_size;
  for (size_t i = 0; i < pad; ++i) trailer[i] = static_cast<uint8_t>(i + 1);
  trailer[pad] = static_cast<uint8_t>(pad);
  trailer[pad + 1] = next_header;
  if (!cipher_->seal(p, ct, seq_, esn_, rng_))
    return Unexpected{std::string("mbedTLS failed to encrypt")};
  ++stats_.packets;
  stats_.bytes += payload_size;
  return total;
}

// --- inbound

InboundSa::InboundSa(uint32_t spi, bool esn, std::unique_ptr<EspCipher> c, uint32_t window)
    : spi_(spi), esn_(esn), cipher_(std::move(c)), window_(window) {}
InboundSa::~InboundSa() = default;

Result<std::unique_ptr<InboundSa>, std::string> InboundSa::create(uint32_t spi,
                                                                  const ike::EspAlgorithms& alg,
                                                                  ByteView encr_key,
                                                                  ByteView integ_key,
                                                                  uint32_t replay_window) {
  auto c = make_cipher(alg, encr_key, integ_key);
  if (!c) return Unexpected{c.error()};
  return std::unique_ptr<InboundSa>(new InboundSa(spi, alg.esn, std::move(*c), replay_window));
}

Result<Opened, DropReason> InboundSa::open(std::span<uint8_t> packet) {
  const size_t iv = cipher_->iv_size(), icv = cipher_->icv_size();
  const size_t overhead = kEspHeaderSize + iv + icv;
  // At least the 2 trailer bytes (one block for CBC), and whole blocks.
  const size_t block = cipher_->block_size();
  if (packet.size() < overhead + std::max<size_t>(block, 2) ||
      (packet.size() - overhead) % block != 0) {
    ++stats_.dropped_malformed;
    return Unexpected{DropReason::Malformed};
  }
  const size_t ct = packet.size() - overhead;
  const uint64_t seq = window_.extend(get32(packet.data() + 4), esn_);
  if (window_.check(seq) != ReplayWindow::Verdict::Ok) {
    ++stats_.dropped_replay;
    return Unexpected{DropReason::Replay};
  }
  if (!cipher_->open(packet.data(), ct, seq, esn_)) {
    ++stats_.dropped_integrity;
    return Unexpected{DropReason::Integrity};
  }
  // Authentic: the window moves even if the trailer turns out to be bad (the sender did send
  // this number; RFC 4303 §3.4.3 updates the window after the ICV check).
  window_.accept(seq);
  auto plain = strip_esp_trailer(ByteView(packet.data() + kEspHeaderSize + iv, ct));
  if (!plain) {
    ++stats_.dropped_malformed;
    return Unexpected{DropReason::Malformed};
  }
  if (plain->is_dummy()) {
    ++stats_.dummies;
    return Unexpected{DropReason::Dummy};
  }
  ++stats_.packets;
  stats_.bytes += plain->inner.size();
  uint8_t* start = packet.data() + kEspHeaderSize + iv;
  return Opened{std::span<uint8_t>(start, plain->inner.size()), plain->next_header, seq};
}

}  // namespace ikeme::esp
