#pragma once
// Bridge to the signature layer (ike/crypto/signature.hpp): a certificate's public key as a
// crypto::PublicKey, for verify_auth() on the peer's AUTH payload, and the check that our
// private key belongs to our certificate.

#include "ike/codec/result.hpp"
#include "ike/crypto/signature.hpp"
#include "ike/pki/certificate.hpp"

namespace ikeme::ike::pki {

// Imports the certificate's SubjectPublicKeyInfo. Fails for key types the signature layer does
// not handle (it takes RSA and EC keys on P-256/P-384/P-521).
Result<crypto::PublicKey, crypto::CryptoError> certificate_public_key(const Certificate& cert);

// Whether `key` is the private half of the certificate's public key.
bool certificate_matches_key(const Certificate& cert, const crypto::PrivateKey& key);

}  // namespace ikeme::ike::pki
