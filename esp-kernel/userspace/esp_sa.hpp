#pragma once
// One direction of an ESP SA (RFC 4303) with its cipher, sans-IO: the userspace data plane's
// per-packet work. Built from the engine's ike::ChildSaParams; keys are copied into mbedTLS
// contexts once and every packet is sealed or opened IN PLACE in a caller-owned buffer, so the
// hot path allocates nothing.
//
// Ciphers (all mbedTLS 2.28):
//   AES-GCM-16 (RFC 4106): key = AES key | 4-byte salt (ike/crypto/key_derivation takes KEYMAT
//     in that order, sk_key_sizes counts the salt); nonce = salt | 8-byte IV; the IV is the
//     64-bit sequence number (unique per key, as RFC 4106 §3.1 requires); AAD = SPI | seq
//     (or SPI | seq high | seq low with ESN, §5); 16-byte ICV.
//   ChaCha20-Poly1305 (RFC 7634): the same layout with a 32-byte key.
//   AES-CBC (RFC 3602) + HMAC-SHA2-256/384/512 truncated to 128/192/256 bits (RFC 4868): a
//     random 16-byte IV per packet (from the injected Rng), ICV = HMAC over SPI | seq | IV |
//     ciphertext (| seq high with ESN, RFC 4303 §3.3.2.1), verified before decryption.
//
// Packet: SPI | seq | IV | ciphertext | ICV, where the ciphertext is
//   payload | padding 1,2,3.. | pad length | next header   (esp_packet.hpp)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "esp-kernel/userspace/replay_window.hpp"
#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/random.hpp"
#include "ike/sa/proposals.hpp"

namespace ikeme::esp {

// The cipher of one direction (keys in mbedTLS contexts). Internal to esp_sa.cpp.
class EspCipher;

struct EspSaStats {
  uint64_t packets = 0, bytes = 0;  // inner bytes delivered / sent
  uint64_t dropped_replay = 0, dropped_integrity = 0, dropped_malformed = 0;
  uint64_t dummies = 0;  // next header 59, discarded (RFC 4303 §2.6)
};

// Why an inbound packet was not delivered.
enum class DropReason : uint8_t {
  Malformed,  // too short, not whole blocks, bad padding or trailer
  Integrity,  // ICV did not verify
  Replay,     // duplicate, left of the window, or sequence number 0
  Dummy,      // a valid dummy packet (next header 59): counted, not an error
};
std::string_view name(DropReason r);

// The key sizes an algorithm takes from KEYMAT (encryption incl. salt, integrity).
struct EspKeySizes {
  size_t encr = 0, integ = 0;
};
Result<EspKeySizes, std::string> esp_key_sizes(const ike::EspAlgorithms& alg);

class OutboundSa {
 public:
  // `rng` supplies the AES-CBC IVs and must outlive the SA (unused for the AEADs).
  static Result<std::unique_ptr<OutboundSa>, std::string> create(uint32_t spi,
                                                                 const ike::EspAlgorithms& alg,
                                                                 ByteView encr_key,
                                                                 ByteView integ_key,
                                                                 ike::crypto::Rng& rng);
  ~OutboundSa();
  OutboundSa(const OutboundSa&) = delete;
  OutboundSa& operator=(const OutboundSa&) = delete;

  uint32_t spi() const { return spi_; }
  // Bytes in front of the payload (SPI, seq, IV) and at most after it (padding, trailer, ICV).
  size_t headroom() const;
  size_t tailroom() const;

  // The payload is at buffer[headroom(), headroom() + payload_size); buffer must have at least
  // headroom() + payload_size + tailroom() bytes. Writes header, IV, trailer and ICV around it
  // and encrypts in place. Returns the packet's length (from buffer[0]). Fails when the
  // sequence number would cycle (2^32 - 1 without ESN, RFC 4303 §3.3.3): the SA must be
  // replaced.
  Result<size_t, std::string> seal(std::span<uint8_t> buffer, size_t payload_size,
                                   uint8_t next_header);

  uint64_t next_sequence() const { return seq_ + 1; }
  void set_sequence(uint64_t last_sent) { seq_ = last_sent; }  // tests: exhaustion
  const EspSaStats& stats() const { return stats_; }

 private:
  OutboundSa(uint32_t spi, bool esn, std::unique_ptr<EspCipher> c, ike::crypto::Rng& rng);
  uint32_t spi_;
  bool esn_;
  uint64_t seq_ = 0;  // last sequence number sent
  std::unique_ptr<EspCipher> cipher_;
  ike::crypto::Rng& rng_;
  EspSaStats stats_;
};

struct Opened {
  std::span<uint8_t> payload;  // inside the packet buffer (decrypted in place)
  uint8_t next_header = 0;
  uint64_t sequence = 0;
};

class InboundSa {
 public:
  static Result<std::unique_ptr<InboundSa>, std::string> create(uint32_t spi,
                                                                const ike::EspAlgorithms& alg,
                                                                ByteView encr_key,
                                                                ByteView integ_key,
                                                                uint32_t replay_window = 1024);
  ~InboundSa();
  InboundSa(const InboundSa&) = delete;
  InboundSa& operator=(const InboundSa&) = delete;

  uint32_t spi() const { return spi_; }
  // Checks, verifies and decrypts `packet` (SPI | seq | IV | ciphertext | ICV, its SPI already
  // matched to this SA) in place. Counts every outcome in stats(). A Dummy result is a valid
  // packet that carries nothing (its sequence number is consumed).
  Result<Opened, DropReason> open(std::span<uint8_t> packet);

  const EspSaStats& stats() const { return stats_; }
  const ReplayWindow& window() const { return window_; }

 private:
  InboundSa(uint32_t spi, bool esn, std::unique_ptr<EspCipher> c, uint32_t window);
  uint32_t spi_;
  bool esn_;
  std::unique_ptr<EspCipher> cipher_;
  ReplayWindow window_;
  EspSaStats stats_;
};

// The 32-bit SPI at the front of an ESP packet (0 if shorter than 4 bytes).
uint32_t esp_spi(ByteView packet);

}  // namespace ikeme::esp
