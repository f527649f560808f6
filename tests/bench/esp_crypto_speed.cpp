// The ceiling for the userspace data plane on this machine: how fast mbedTLS 2.28 alone runs
// AES-GCM-128 (and the other ESP suites) on one core, raw (mbedtls_gcm_crypt_and_tag over
// 1400-byte buffers) and through OutboundSa::seal / InboundSa::open (our per-packet work:
// header, padding, sequence numbers, replay window). Prints numbers; not a test.
//
// usage: esp_crypto_speed [SECONDS_PER_MEASUREMENT=1] [PACKET_SIZE=1400]

#include <mbedtls/gcm.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "esp-kernel/userspace/esp_sa.hpp"

using namespace ikeme;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void report(const char* what, uint64_t packets, size_t size, double secs) {
  const double bits = static_cast<double>(packets) * static_cast<double>(size) * 8;
  std::printf("%-44s %9.0f packets/s  %7.2f Gbit/s\n", what, packets / secs, bits / secs / 1e9);
}

void raw_gcm(double duration, size_t size) {
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  unsigned char key[16] = {1, 2, 3};
  mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128);
  std::vector<unsigned char> buf(size, 0x42);
  unsigned char iv[12] = {}, aad[8] = {}, tag[16];
  uint64_t n = 0;
  auto start = Clock::now();
  double secs = 0;
  while ((secs = seconds_since(start)) < duration) {
    for (int i = 0; i < 256; ++i, ++n) {
      std::memcpy(iv + 4, &n, 8);
      mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, size, iv, 12, aad, 8, buf.data(),
                                buf.data(), 16, tag);
    }
  }
  mbedtls_gcm_free(&gcm);
  report("mbedtls_gcm_crypt_and_tag AES-128 (raw)", n, size, secs);
}

void sealed(const char* name, const ike::EspAlgorithms& alg, double duration, size_t size) {
  auto sizes = esp::esp_key_sizes(alg);
  if (!sizes) return;
  ike::crypto::DeterministicRng rng(1);
  Bytes ek(sizes->encr, 0x11), ik(sizes->integ, 0x22);
  auto out = esp::OutboundSa::create(0x1000, alg, ek, ik, rng);
  auto in = esp::InboundSa::create(0x1000, alg, ek, ik);
  if (!out || !in) return;
  std::vector<uint8_t> buf((*out)->headroom() + size + (*out)->tailroom());
  std::vector<uint8_t> copy(buf.size());
  uint64_t n = 0;
  auto start = Clock::now();
  double secs = 0;
  while ((secs = seconds_since(start)) < duration)
    for (int i = 0; i < 256; ++i, ++n) (void)(*out)->seal(buf, size, 4);
  char label[96];
  std::snprintf(label, sizeof label, "OutboundSa::seal %s", name);
  report(label, n, size, secs);
  // Open: seal one packet per iteration into a copy (the window needs fresh numbers), so this
  // measures seal + open together.
  n = 0;
  start = Clock::now();
  while ((secs = seconds_since(start)) < duration)
    for (int i = 0; i < 256; ++i, ++n) {
      auto len = (*out)->seal(buf, size, 4);
      std::memcpy(copy.data(), buf.data(), *len);
      (void)(*in)->open(std::span<uint8_t>(copy.data(), *len));
    }
  std::snprintf(label, sizeof label, "seal + open %s", name);
  report(label, n, size, secs);
}

}  // namespace

int main(int argc, char** argv) {
  const double duration = argc > 1 ? std::atof(argv[1]) : 1.0;
  const size_t size = argc > 2 ? static_cast<size_t>(std::atoi(argv[2])) : 1400;
  std::printf("one core, %zu-byte packets, %.1f s per measurement\n", size, duration);
  raw_gcm(duration, size);
  sealed("AES-GCM-128", ike::EspAlgorithms{ike::EncrId::AES_GCM_16, 128, ike::IntegId::NONE},
         duration, size);
  sealed("AES-GCM-256", ike::EspAlgorithms{ike::EncrId::AES_GCM_16, 256, ike::IntegId::NONE},
         duration, size);
  sealed("ChaCha20-Poly1305",
         ike::EspAlgorithms{ike::EncrId::CHACHA20_POLY1305, 256, ike::IntegId::NONE}, duration,
         size);
  sealed("AES-CBC-128/HMAC-SHA2-256",
         ike::EspAlgorithms{ike::EncrId::AES_CBC, 128, ike::IntegId::HMAC_SHA2_256_128}, duration,
         size);
  return 0;
}
