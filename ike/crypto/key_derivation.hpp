#pragma once
// IKEv2 key derivation (RFC 7296 §2.14, §2.17, §2.18) and the shared-key AUTH value (§2.15).
// Nonces are the Nonce payload data, shared secrets the KeyExchange::shared_secret() bytes.

#include <cstdint>

#include "ike/codec/bytes.hpp"
#include "ike/codec/result.hpp"
#include "ike/crypto/prf.hpp"
#include "ike/crypto/sk_cipher.hpp"  // CryptoError, SkKeySizes

namespace ikeme::ike::crypto {

struct IkeSaKeys {
  Bytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
  void wipe();  // zeroizes and empties every key
};

struct ChildSaKeys {
  Bytes encr_i, integ_i, encr_r, integ_r;
  void wipe();
};

// §2.14: SKEYSEED = prf(Ni | Nr, g^ir);
// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
// SK_d, SK_pi and SK_pr have the PRF's output length; SK_a* and SK_e* the lengths in `sizes`
// (sk_key_sizes() of the negotiated SkAlgorithm: AEAD keys include their 4-byte salt).
Result<IkeSaKeys, CryptoError> derive_ike_sa_keys(const Prf& prf, ByteView ni, ByteView nr,
                                                  ByteView shared_secret, uint64_t spi_i,
                                                  uint64_t spi_r, SkKeySizes sizes);

// §2.18, rekeying the IKE SA with CREATE_CHILD_SA:
// SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr), with the old IKE SA's PRF; the keys then
// follow §2.14 with the new IKE SA's PRF, this exchange's nonces and the new SA's SPIs
// (i = the initiator of the rekeying exchange).
Result<IkeSaKeys, CryptoError> derive_rekeyed_ike_sa_keys(const Prf& old_prf, ByteView old_sk_d,
                                                          const Prf& new_prf, ByteView ni,
                                                          ByteView nr, ByteView shared_secret,
                                                          uint64_t spi_i, uint64_t spi_r,
                                                          SkKeySizes sizes);

// §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as encr_i | integ_i | encr_r |
// integ_r ("i" = carrying data from the initiator of the exchange that created the CHILD_SA).
// `shared_secret` is empty when the exchange had no KE payloads (no PFS, or IKE_AUTH).
Result<ChildSaKeys, CryptoError> derive_child_sa_keys(const Prf& prf, ByteView sk_d,
                                                      ByteView shared_secret, ByteView ni,
                                                      ByteView nr, SkKeySizes sizes);

// §2.15: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>). The same formula
// serves EAP methods that produce an MSK, with the MSK as the secret (§2.16).
Bytes psk_auth(const Prf& prf, ByteView secret, ByteView signed_octets);

// §2.15: <SignedOctets> = RealMessage | NonceData | prf(SK_p, RestOfIDPayload), where
// RealMessage is this side's first message (IKE_SA_INIT request or response) as sent,
// NonceData the peer's nonce, SK_p this side's SK_pi or SK_pr, and `id_payload_body` this side's
// ID payload after its generic header (ID Type, 3 reserved bytes, identification data).
Bytes signed_octets(ByteView first_message_bytes, ByteView nonce_of_peer, const Prf& prf,
                    ByteView sk_p, ByteView id_payload_body);

}  // namespace ikeme::ike::crypto
