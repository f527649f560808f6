#include "ike/pki/certificate_key.hpp"

namespace ikeme::ike::pki {

Result<crypto::PublicKey, crypto::CryptoError> certificate_public_key(const Certificate& cert) {
  return crypto::PublicKey::load(cert.public_key_info());
}

bool certificate_matches_key(const Certificate& cert, const crypto::PrivateKey& key) {
  auto pub = certificate_public_key(cert);
  return pub.ok() && key.matches(*pub);
}

}  // namespace ikeme::ike::pki
