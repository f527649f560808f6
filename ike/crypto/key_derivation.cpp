#include "ike/crypto/key_derivation.hpp"

#include <mbedtls/platform_util.h>

#include <cstddef>
#include <initializer_list>
#include <string>

namespace ikeme::ike::crypto {
namespace {

void wipe_bytes(Bytes& b) {
  mbedtls_platform_zeroize(b.data(), b.size());
  b.clear();
}

// Zeroizes a secret intermediate (SKEYSEED, the prf+ stream) when it goes out of scope.
struct Secret {
  Bytes bytes;
  ~Secret() { mbedtls_platform_zeroize(bytes.data(), bytes.size()); }
};

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Hands out consecutive slices of a prf+ stream.
class Splitter {
 public:
  explicit Splitter(ByteView stream) : stream_(stream) {}
  Bytes take(size_t n) {
    Bytes b(stream_.begin() + static_cast<std::ptrdiff_t>(pos_),
            stream_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return b;
  }

 private:
  ByteView stream_;
  size_t pos_ = 0;
};

// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
Result<IkeSaKeys, CryptoError> keys_from_skeyseed(const Prf& prf, ByteView skeyseed, ByteView ni,
                                                  ByteView nr, uint64_t spi_i, uint64_t spi_r,
                                                  SkKeySizes sizes) {
  Bytes seed = concat({ni, nr});
  ByteWriter w(seed);
  w.u64(spi_i);
  w.u64(spi_r);
  size_t total = 3 * prf.size() + 2 * sizes.integ + 2 * sizes.encr;
  auto stream = prf.plus(skeyseed, seed, total);
  if (!stream) return Unexpected{CryptoError{"IKE SA keys: " + stream.error().detail}};
  Secret keymat{std::move(*stream)};
  Splitter s(keymat.bytes);
  IkeSaKeys k;
  k.sk_d = s.take(prf.size());
  k.sk_ai = s.take(sizes.integ);
  k.sk_ar = s.take(sizes.integ);
  k.sk_ei = s.take(sizes.encr);
  k.sk_er = s.take(sizes.encr);
  k.sk_pi = s.take(prf.size());
  k.sk_pr = s.take(prf.size());
  return k;
}

}  // namespace

void IkeSaKeys::wipe() {
  for (Bytes* b : {&sk_d, &sk_ai, &sk_ar, &sk_ei, &sk_er, &sk_pi, &sk_pr}) wipe_bytes(*b);
}

void ChildSaKeys::wipe() {
  for (Bytes* b : {&encr_i, &integ_i, &encr_r, &integ_r}) wipe_bytes(*b);
}

Result<IkeSaKeys, CryptoError> derive_ike_sa_keys(const Prf& prf, ByteView ni, ByteView nr,
                                                  ByteView shared_secret, uint64_t spi_i,
                                                  uint64_t spi_r, SkKeySizes sizes) {
  Bytes nonces = concat({ni, nr});
  Secret skeyseed{prf(nonces, shared_secret)};
  return keys_from_skeyseed(prf, skeyseed.bytes, ni, nr, spi_i, spi_r, sizes);
}

Result<IkeSaKeys, CryptoError> derive_rekeyed_ike_sa_keys(const Prf& old_prf, ByteView old_sk_d,
                                                          const Prf& new_prf, ByteView ni,
                                                          ByteView nr, ByteView shared_secret,
                                                          uint64_t spi_i, uint64_t spi_r,
                                                          SkKeySizes sizes) {
  if (shared_secret.empty())
    return Unexpected{
        CryptoError{"rekeying an IKE SA needs a fresh key exchange (RFC 7296 §2.18)"}};
  Secret input{concat({shared_secret, ni, nr})};
  Secret skeyseed{old_prf(old_sk_d, input.bytes)};
  return keys_from_skeyseed(new_prf, skeyseed.bytes, ni, nr, spi_i, spi_r, sizes);
}

Result<ChildSaKeys, CryptoError> derive_child_sa_keys(const Prf& prf, ByteView sk_d,
                                                      ByteView shared_secret, ByteView ni,
                                                      ByteView nr, SkKeySizes sizes) {
  Secret seed{concat({shared_secret, ni, nr})};
  auto stream = prf.plus(sk_d, seed.bytes, 2 * sizes.encr + 2 * sizes.integ);
  if (!stream) return Unexpected{CryptoError{"CHILD_SA keys: " + stream.error().detail}};
  Secret keymat{std::move(*stream)};
  Splitter s(keymat.bytes);
  ChildSaKeys k;
  k.encr_i = s.take(sizes.encr);
  k.integ_i = s.take(sizes.integ);
  k.encr_r = s.take(sizes.encr);
  k.integ_r = s.take(sizes.integ);
  return k;
}

Bytes psk_auth(const Prf& prf, ByteView secret, ByteView signed_octets) {
  static constexpr uint8_t kKeyPad[] = {'K', 'e', 'y', ' ', 'P', 'a', 'd', ' ', 'f',
                                        'o', 'r', ' ', 'I', 'K', 'E', 'v', '2'};  // no NUL
  Secret key{prf(secret, kKeyPad)};
  return prf(key.bytes, signed_octets);
}

Bytes signed_octets(ByteView first_message_bytes, ByteView nonce_of_peer, const Prf& prf,
                    ByteView sk_p, ByteView id_payload_body) {
  Bytes maced_id = prf(sk_p, id_payload_body);
  return concat({first_message_bytes, nonce_of_peer, maced_id});
}

}  // namespace ikeme::ike::crypto
