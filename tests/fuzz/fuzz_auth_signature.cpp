// libFuzzer target: the peer-controlled part of signature authentication — the AUTH payload's
// data under each signature method (RFC 7427 AlgorithmIdentifier, RSA and ECDSA signature
// formats) and the SIGNATURE_HASH_ALGORITHMS notify data.
// Input: first byte selects the AUTH method, the rest is the AUTH data.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ike/crypto/random.hpp"
#include "ike/crypto/signature.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::ike::crypto;

namespace {

struct Keys {
  PublicKey rsa, p256, p384, p521;
};

PublicKey public_of(KeyType type) {
  DeterministicRng rng(static_cast<uint64_t>(type) + 1);
  auto key = PrivateKey::generate(type, 1024, rng);
  if (!key) std::abort();
  auto pub = key->public_key();
  if (!pub) std::abort();
  return std::move(pub).value();
}

const Keys& keys() {
  static const Keys k{public_of(KeyType::RSA), public_of(KeyType::ECDSA_P256),
                      public_of(KeyType::ECDSA_P384), public_of(KeyType::ECDSA_P521)};
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const AuthMethod kMethods[] = {
      AuthMethod::RSA_SIG,           AuthMethod::ECDSA_SHA256_P256, AuthMethod::ECDSA_SHA384_P384,
      AuthMethod::ECDSA_SHA512_P521, AuthMethod::DIGITAL_SIGNATURE, AuthMethod::SHARED_KEY_MIC};
  ByteView rest(data + 1, size - 1);
  AuthPayload auth{kMethods[data[0] % 6], Bytes(rest.begin(), rest.end())};
  static const Bytes kSignedOctets(100, 0x42);
  static const HashAlgorithm kAll[] = {HashAlgorithm::SHA1, HashAlgorithm::SHA2_256,
                                       HashAlgorithm::SHA2_384, HashAlgorithm::SHA2_512};
  const Keys& k = keys();
  for (const PublicKey* key : {&k.rsa, &k.p256, &k.p384, &k.p521})
    (void)verify_auth(*key, auth, kSignedOctets, kAll);

  // An AlgorithmIdentifier that parses encodes back to one that parses to the same scheme.
  if (auto params = parse_algorithm_identifier(rest)) {
    auto again = parse_algorithm_identifier(encode_algorithm_identifier(params->scheme));
    if (!again || again->scheme != params->scheme) std::abort();
  }
  (void)parse_hash_algorithms(rest);
  return 0;
}
