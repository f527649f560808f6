#pragma once
// Opening the encrypted payload of a parsed message: SK yields the inner payload chain, SKF the
// fragment's plaintext (to be reassembled; see ike/sa/fragment_assembler.hpp).

#include <vector>

#include "ike/codec/message.hpp"
#include "ike/crypto/sk_cipher.hpp"

namespace ikeme::ike::crypto {

// `raw` is the message exactly as parsed into `message` (without a non-ESP marker).
Result<std::vector<Payload>, CryptoError> open_sk(const Message& message, ByteView raw,
                                                  const SkCipher& cipher);

// The decrypted content of an SKF payload (padding removed), not yet a payload chain.
Result<Bytes, CryptoError> open_skf(const Message& message, ByteView raw, const SkCipher& cipher);

}  // namespace ikeme::ike::crypto
