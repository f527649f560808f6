#pragma once
// Randomness for the protocol cores, injected as an `Rng` so that a test or a simulated network
// can replace the system's entropy with a seeded, reproducible stream.
//
// Both implementations are mbedTLS CTR_DRBG (NIST SP 800-90A, AES-256):
//   DrbgRng           seeded from mbedtls_entropy (the OS), personalization "ikeme"; it reseeds
//                     from the entropy source on mbedTLS's own schedule (reseed interval).
//   DeterministicRng  seeded only from a caller-given seed: the same seed gives the same stream.
//                     For tests and simulations only — never for real keys.
//
// An Rng is neither copyable nor movable (mbedTLS contexts hold pointers into themselves).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/sk_cipher.hpp"  // CryptoError

namespace ikeme::ike::crypto {

class Rng {
 public:
  Rng() = default;
  virtual ~Rng();
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;

  // Fills `out` with random bytes. A generator that cannot produce output (its entropy source
  // failed at a reseed) aborts the process rather than return predictable bytes.
  virtual void fill(std::span<uint8_t> out) = 0;

  Bytes bytes(size_t n);
  uint64_t u64();  // 8 random bytes read big-endian
  uint32_t u32();
};

// Adapter for mbedTLS's `f_rng` callbacks: pass `rng_callback` with `&rng` as `p_rng`.
int rng_callback(void* rng, unsigned char* out, size_t size);

class DrbgRng final : public Rng {
 public:
  static Result<std::unique_ptr<DrbgRng>, CryptoError> create();
  ~DrbgRng() override;
  void fill(std::span<uint8_t> out) override;

 private:
  DrbgRng();
  struct State;
  std::unique_ptr<State> state_;
};

class DeterministicRng final : public Rng {
 public:
  // Any seed length works; seeds longer than 256 bytes are first reduced with SHA-512.
  explicit DeterministicRng(ByteView seed);
  explicit DeterministicRng(uint64_t seed);  // the seed's 8 bytes, big-endian
  ~DeterministicRng() override;
  void fill(std::span<uint8_t> out) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ikeme::ike::crypto
