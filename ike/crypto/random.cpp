#include "ike/crypto/random.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ikeme::ike::crypto {
namespace {

// CTR_DRBG hands out at most MBEDTLS_CTR_DRBG_MAX_REQUEST bytes per call.
void drbg_fill(mbedtls_ctr_drbg_context* ctx, std::span<uint8_t> out) {
  while (!out.empty()) {
    size_t n = std::min<size_t>(out.size(), MBEDTLS_CTR_DRBG_MAX_REQUEST);
    if (mbedtls_ctr_drbg_random(ctx, out.data(), n) != 0) {
      // Fail closed: returning anything would hand predictable bytes to key generation.
      std::fputs("ikeme: CTR_DRBG failed to produce random bytes\n", stderr);
      std::abort();
    }
    out = out.subspan(n);
  }
}

// The "entropy source" of a DeterministicRng: none. All of its unpredictability (for tests: its
// distinctness) comes from the seed, passed as the personalization string.
int no_entropy(void*, unsigned char* out, size_t size) {
  std::fill_n(out, size, 0);
  return 0;
}

constexpr size_t kMaxDirectSeed = 256;  // fits MBEDTLS_CTR_DRBG_MAX_SEED_INPUT - entropy length

}  // namespace

Rng::~Rng() = default;

Bytes Rng::bytes(size_t n) {
  Bytes b(n);
  fill(b);
  return b;
}

uint64_t Rng::u64() {
  uint8_t b[8];
  fill(b);
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

uint32_t Rng::u32() {
  uint8_t b[4];
  fill(b);
  uint32_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

int rng_callback(void* rng, unsigned char* out, size_t size) {
  static_cast<Rng*>(rng)->fill(std::span<uint8_t>(out, size));
  return 0;
}

// ---- DrbgRng -----------------------------------------------------------------------------------

struct DrbgRng::State {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~State() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

DrbgRng::DrbgRng() : state_(std::make_unique<State>()) {}
DrbgRng::~DrbgRng() = default;

Result<std::unique_ptr<DrbgRng>, CryptoError> DrbgRng::create() {
  std::unique_ptr<DrbgRng> rng(new DrbgRng());
  static constexpr unsigned char kPersonalization[] = {'i', 'k', 'e', 'm', 'e'};
  int rc = mbedtls_ctr_drbg_seed(&rng->state_->drbg, mbedtls_entropy_func, &rng->state_->entropy,
                                 kPersonalization, sizeof kPersonalization);
  if (rc != 0)
    return Unexpected{CryptoError{"seeding CTR_DRBG from the entropy source failed (mbedTLS " +
                                  std::to_string(rc) + ")"}};
  return rng;
}

void DrbgRng::fill(std::span<uint8_t> out) {
  drbg_fill(&state_->drbg, out);
}

// ---- DeterministicRng --------------------------------------------------------------------------

struct DeterministicRng::State {
  mbedtls_ctr_drbg_context drbg;
  State() { mbedtls_ctr_drbg_init(&drbg); }
  ~State() { mbedtls_ctr_drbg_free(&drbg); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

DeterministicRng::DeterministicRng(ByteView seed) : state_(std::make_unique<State>()) {
  unsigned char digest[64];
  if (seed.size() > kMaxDirectSeed) {
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA512), seed.data(), seed.size(), digest);
    seed = ByteView(digest, sizeof digest);
  }
  // Cannot fail: the entropy callback always succeeds and the seed fits the seed input.
  int rc = mbedtls_ctr_drbg_seed(&state_->drbg, no_entropy, nullptr, seed.data(), seed.size());
  mbedtls_platform_zeroize(digest, sizeof digest);
  if (rc != 0) {
    std::fputs("ikeme: seeding the deterministic CTR_DRBG failed\n", stderr);
    std::abort();
  }
}

namespace {
Bytes u64_seed(uint64_t seed) {
  Bytes b;
  ByteWriter(b).u64(seed);
  return b;
}
}  // namespace

DeterministicRng::DeterministicRng(uint64_t seed) : DeterministicRng(ByteView(u64_seed(seed))) {}
DeterministicRng::~DeterministicRng() = default;

void DeterministicRng::fill(std::span<uint8_t> out) {
  drbg_fill(&state_->drbg, out);
}

}  // namespace ikeme::ike::crypto
