#include "ike/crypto/prf.hpp"

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace ikeme::ike::crypto {
namespace {

const mbedtls_md_info_t* md_info(PrfId id) {
  switch (id) {
    case PrfId::HMAC_SHA1:
      return mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
    case PrfId::HMAC_SHA2_256:
      return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    case PrfId::HMAC_SHA2_384:
      return mbedtls_md_info_from_type(MBEDTLS_MD_SHA384);
    case PrfId::HMAC_SHA2_512:
      return mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
    default:
      return nullptr;
  }
}

// An HMAC context, freed (and wiped by mbedTLS) on every path.
class Hmac {
 public:
  Hmac(const mbedtls_md_info_t* info, ByteView key) {
    mbedtls_md_init(&ctx_);
    ok_ = mbedtls_md_setup(&ctx_, info, 1) == 0 &&
          mbedtls_md_hmac_starts(&ctx_, key.data(), key.size()) == 0;
  }
  ~Hmac() { mbedtls_md_free(&ctx_); }
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  bool ok() const { return ok_; }
  void update(ByteView data) {
    ok_ = ok_ && mbedtls_md_hmac_update(&ctx_, data.data(), data.size()) == 0;
  }
  void finish(uint8_t* out) { ok_ = ok_ && mbedtls_md_hmac_finish(&ctx_, out) == 0; }
  void reset() { ok_ = ok_ && mbedtls_md_hmac_reset(&ctx_) == 0; }

 private:
  mbedtls_md_context_t ctx_;
  bool ok_ = false;
};

void fail_hard() {
  // Only a failed allocation inside mbedTLS gets here; a wrong MAC must never be returned.
  std::abort();
}

}  // namespace

Result<Prf, CryptoError> Prf::make(PrfId id) {
  const mbedtls_md_info_t* info = md_info(id);
  if (info == nullptr)
    return Unexpected{CryptoError{"PRF " +
                                  transform_id_name(TransformType::PRF, static_cast<uint16_t>(id)) +
                                  " is not supported"}};
  return Prf(id, mbedtls_md_get_size(info));
}

Bytes Prf::operator()(ByteView key, ByteView data) const {
  Bytes out(size_);
  Hmac h(md_info(id_), key);
  h.update(data);
  h.finish(out.data());
  if (!h.ok()) fail_hard();
  return out;
}

Result<Bytes, CryptoError> Prf::plus(ByteView key, ByteView seed, size_t length) const {
  size_t iterations = (length + size_ - 1) / size_;
  if (iterations > 255)
    return Unexpected{CryptoError{"prf+ cannot produce " + std::to_string(length) +
                                  " bytes: more than 255 iterations of a " + std::to_string(size_) +
                                  "-byte PRF"}};
  Bytes out(iterations * size_);
  Hmac h(md_info(id_), key);
  for (size_t n = 1; n <= iterations; ++n) {
    if (n > 1) {
      h.reset();
      h.update(ByteView(out).subspan((n - 2) * size_, size_));  // T(n-1)
    }
    h.update(seed);
    const uint8_t counter = static_cast<uint8_t>(n);
    h.update(ByteView(&counter, 1));
    h.finish(out.data() + (n - 1) * size_);
  }
  if (!h.ok()) fail_hard();
  if (out.size() > length) {
    mbedtls_platform_zeroize(out.data() + length, out.size() - length);
    out.resize(length);
  }
  return out;
}

}  // namespace ikeme::ike::crypto
