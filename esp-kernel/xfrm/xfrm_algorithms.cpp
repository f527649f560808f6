#include "esp-kernel/xfrm/xfrm_algorithms.hpp"

#include <cstdint>

namespace ikeme::esp::xfrm {
namespace {

using ike::EncrId;
using ike::IntegId;

Result<unsigned, std::string> aes_key_bytes(uint16_t bits) {
  if (bits != 128 && bits != 192 && bits != 256) {
    return Unexpected(std::string("AES key length ") + std::to_string(bits) + " not supported");
  }
  return bits / 8u;
}

}  // namespace

Result<KernelAlgorithms, std::string> kernel_algorithms(const ike::EspAlgorithms& algs) {
  KernelAlgorithms k;
  switch (algs.encr) {
    case EncrId::AES_GCM_8:
    case EncrId::AES_GCM_12:
    case EncrId::AES_GCM_16: {
      auto key = aes_key_bytes(algs.key_bits);
      if (!key) return Unexpected(key.error());
      k.aead = true;
      k.encr_name = "rfc4106(gcm(aes))";
      k.encr_key_bytes = *key + 4;  // RFC 4106 §8.1: the salt follows the key
      k.icv_bits = algs.encr == EncrId::AES_GCM_8 ? 64 : algs.encr == EncrId::AES_GCM_12 ? 96 : 128;
      break;
    }
    case EncrId::CHACHA20_POLY1305:
      k.aead = true;
      k.encr_name = "rfc7539esp(chacha20,poly1305)";
      k.encr_key_bytes = 32 + 4;  // RFC 7634 §2: 256-bit key and a 32-bit salt
      k.icv_bits = 128;
      break;
    case EncrId::AES_CBC: {
      auto key = aes_key_bytes(algs.key_bits);
      if (!key) return Unexpected(key.error());
      k.encr_name = "cbc(aes)";
      k.encr_key_bytes = *key;
      break;
    }
    case EncrId::AES_CTR: {
      auto key = aes_key_bytes(algs.key_bits);
      if (!key) return Unexpected(key.error());
      k.encr_name = "rfc3686(ctr(aes))";
      k.encr_key_bytes = *key + 4;  // RFC 3686 §5.1: the nonce follows the key
      break;
    }
    default:
      return Unexpected("encryption algorithm " + std::to_string(static_cast<int>(algs.encr)) +
                        " not supported by the XFRM backend");
  }
  if (k.aead) {
    if (algs.integ != IntegId::NONE) {
      return Unexpected(std::string("an AEAD takes no integrity algorithm"));
    }
    return k;
  }
  switch (algs.integ) {
    case IntegId::HMAC_SHA1_96:
      k.integ_name = "hmac(sha1)", k.integ_key_bytes = 20, k.integ_trunc_bits = 96;
      break;
    case IntegId::HMAC_SHA2_256_128:
      k.integ_name = "hmac(sha256)", k.integ_key_bytes = 32, k.integ_trunc_bits = 128;
      break;
    case IntegId::HMAC_SHA2_384_192:
      k.integ_name = "hmac(sha384)", k.integ_key_bytes = 48, k.integ_trunc_bits = 192;
      break;
    case IntegId::HMAC_SHA2_512_256:
      k.integ_name = "hmac(sha512)", k.integ_key_bytes = 64, k.integ_trunc_bits = 256;
      break;
    case IntegId::NONE:
      return Unexpected(std::string("a non-AEAD cipher needs an integrity algorithm"));
    default:
      return Unexpected("integrity algorithm " + std::to_string(static_cast<int>(algs.integ)) +
                        " not supported by the XFRM backend");
  }
  return k;
}

}  // namespace ikeme::esp::xfrm
