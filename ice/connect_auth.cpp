#include "ice/connect_auth.hpp"

#include <mbedtls/sha1.h>
// mbedTLS 2.28 ships constant_time.h without a C++ linkage guard.
extern "C" {
#include <mbedtls/constant_time.h>
}

#include <cstdlib>

namespace ikeme::ice {
namespace {

// A context wiped on every exit path.
class Sha1 {
 public:
  Sha1() {
    mbedtls_sha1_init(&ctx_);
    // The *_ret functions fail only on a hardware accelerator error; there is none here, and a
    // wrong digest must never be returned, so any failure aborts.
    if (mbedtls_sha1_starts_ret(&ctx_) != 0) std::abort();
  }
  ~Sha1() { mbedtls_sha1_free(&ctx_); }
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;

  void update(ByteView data) {
    if (!data.empty() && mbedtls_sha1_update_ret(&ctx_, data.data(), data.size()) != 0)
      std::abort();
  }
  ConnectAuth finish() {
    ConnectAuth out{};
    if (mbedtls_sha1_finish_ret(&ctx_, out.data()) != 0) std::abort();
    return out;
  }

 private:
  mbedtls_sha1_context ctx_;
};

}  // namespace

ConnectAuth compute_connect_auth(uint32_t message_id, ByteView connect_id, ByteView endpoint_data,
                                 ByteView key) {
  const uint8_t mid[4] = {static_cast<uint8_t>(message_id >> 24),
                          static_cast<uint8_t>(message_id >> 16),
                          static_cast<uint8_t>(message_id >> 8), static_cast<uint8_t>(message_id)};
  Sha1 h;
  h.update(ByteView(mid, sizeof mid));
  h.update(connect_id);
  h.update(endpoint_data);
  h.update(key);
  return h.finish();
}

bool connect_auth_matches(ByteView received, const ConnectAuth& expected) {
  if (received.size() != expected.size()) return false;
  return mbedtls_ct_memcmp(received.data(), expected.data(), expected.size()) == 0;
}

}  // namespace ikeme::ice
