#include "ike/crypto/protected_payload.hpp"

namespace ikeme::ike::crypto {
namespace {

Unexpected<CryptoError> fail(std::string detail) {
  return Unexpected{CryptoError{std::move(detail)}};
}

}  // namespace

Result<std::vector<Payload>, CryptoError> open_sk(const Message& message, ByteView raw,
                                                  const SkCipher& cipher) {
  const Payload* sk = message.find(PayloadType::SK);
  if (!sk || !sk->as<EncryptedPayload>()) return fail("message has no SK payload");
  const EncryptedPayload& body = *sk->as<EncryptedPayload>();
  // SK is always last, so its protected body ends the message.
  if (body.data.size() > raw.size()) return fail("SK payload larger than the message");
  auto plain = cipher.open(raw, raw.size() - body.data.size());
  if (!plain) return Unexpected{plain.error()};
  auto inner = parse_payload_chain(body.first_inner, *plain);
  if (!inner) return fail("decrypted payloads are malformed: " + inner.error().to_string());
  return std::move(inner.value());
}

Result<Bytes, CryptoError> open_skf(const Message& message, ByteView raw, const SkCipher& cipher) {
  const Payload* skf = message.find(PayloadType::SKF);
  if (!skf || !skf->as<EncryptedFragmentPayload>()) return fail("message has no SKF payload");
  const EncryptedFragmentPayload& body = *skf->as<EncryptedFragmentPayload>();
  if (body.data.size() > raw.size()) return fail("SKF payload larger than the message");
  return cipher.open(raw, raw.size() - body.data.size());
}

}  // namespace ikeme::ike::crypto
