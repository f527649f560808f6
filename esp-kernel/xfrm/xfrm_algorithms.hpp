#pragma once
// The Linux kernel's names for ESP algorithms (what `ip xfrm state` shows): an IKEv2 transform
// (ike::EspAlgorithms) becomes either one AEAD, or a cipher plus an authentication algorithm with
// its truncation length (RFC 4868 for HMAC-SHA2: 128/192/256 bits).

#include <string>

#include "ike/codec/result.hpp"
#include "ike/sa/proposals.hpp"

namespace ikeme::esp::xfrm {

struct KernelAlgorithms {
  bool aead = false;
  // AEAD: "rfc4106(gcm(aes))" or "rfc7539esp(chacha20,poly1305)"; otherwise the cipher, e.g.
  // "cbc(aes)".
  std::string encr_name;
  unsigned encr_key_bytes = 0;  // with the 4-byte salt of AEAD and CTR modes
  unsigned icv_bits = 0;        // AEAD only
  std::string integ_name;       // e.g. "hmac(sha256)"; empty for AEAD
  unsigned integ_key_bytes = 0;
  unsigned integ_trunc_bits = 0;
};

// Refuses algorithms the kernel backend does not install, naming them.
Result<KernelAlgorithms, std::string> kernel_algorithms(const ike::EspAlgorithms& algs);

}  // namespace ikeme::esp::xfrm
