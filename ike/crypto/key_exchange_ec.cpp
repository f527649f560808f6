// Elliptic-curve groups: CURVE_25519 (RFC 8031) and ECP_256 / ECP_384 (RFC 5903).

#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

#include <optional>
#include <string>

#include "ike/crypto/key_exchange_groups.hpp"
#include "ike/crypto/mbedtls_mpi.hpp"

namespace ikeme::ike::crypto::detail {
namespace {

struct EcParams {
  mbedtls_ecp_group_id id;
  bool montgomery;  // X25519: little-endian u only; otherwise x | y big-endian
  size_t coordinate_size;
};

std::optional<EcParams> ec_params(DhGroup group) {
  switch (group) {
    case DhGroup::CURVE_25519:
      return EcParams{MBEDTLS_ECP_DP_CURVE25519, true, 32};
    case DhGroup::ECP_256:
      return EcParams{MBEDTLS_ECP_DP_SECP256R1, false, 32};
    case DhGroup::ECP_384:
      return EcParams{MBEDTLS_ECP_DP_SECP384R1, false, 48};
    default:
      return std::nullopt;
  }
}

struct Point {
  mbedtls_ecp_point p;
  Point() { mbedtls_ecp_point_init(&p); }
  ~Point() { mbedtls_ecp_point_free(&p); }
  Point(const Point&) = delete;
  Point& operator=(const Point&) = delete;
};

class EcKeyExchange final : public KeyExchange {
 public:
  // `blinding_seed` seeds the generator mbedTLS uses for side-channel blinding; it does not
  // influence any result.
  EcKeyExchange(DhGroup group, EcParams params, ByteView blinding_seed)
      : group_(group), params_(params), blinding_(blinding_seed) {
    mbedtls_ecp_keypair_init(&key_);
  }
  ~EcKeyExchange() override { mbedtls_ecp_keypair_free(&key_); }

  Status<CryptoError> generate(Rng& rng) {
    int rc = mbedtls_ecp_gen_key(params_.id, &key_, rng_callback, &rng);
    if (rc != 0) return group_error(group_, "key generation failed " + mbedtls_reason(rc));
    return encode_public();
  }

  Status<CryptoError> load(ByteView private_key) {
    if (private_key.size() != params_.coordinate_size)
      return group_error(group_, "private key has " + std::to_string(private_key.size()) +
                                     " bytes, expected " + std::to_string(params_.coordinate_size));
    int rc = mbedtls_ecp_read_key(params_.id, &key_, private_key.data(), private_key.size());
    if (rc != 0) return group_error(group_, "private key refused " + mbedtls_reason(rc));
    rc = mbedtls_ecp_mul(&key_.grp, &key_.Q, &key_.d, &key_.grp.G, rng_callback, &blinding_);
    if (rc != 0) return group_error(group_, "public key computation failed " + mbedtls_reason(rc));
    return encode_public();
  }

  DhGroup group() const override { return group_; }
  const Bytes& public_value() const override { return public_; }

  Result<std::unique_ptr<KeyExchange>, CryptoError> duplicate(Rng& rng) const override {
    Bytes seed = rng.bytes(32);
    auto copy = std::make_unique<EcKeyExchange>(group_, params_, seed);
    mbedtls_platform_zeroize(seed.data(), seed.size());
    int rc = mbedtls_ecp_group_load(&copy->key_.grp, params_.id);
    if (rc == 0) rc = mbedtls_mpi_copy(&copy->key_.d, &key_.d);
    if (rc == 0) rc = mbedtls_ecp_copy(&copy->key_.Q, &key_.Q);
    if (rc != 0) return group_error(group_, "cannot copy the private key " + mbedtls_reason(rc));
    copy->public_ = public_;
    return std::unique_ptr<KeyExchange>(std::move(copy));
  }

  Result<Bytes, CryptoError> shared_secret(ByteView peer_public) override {
    const size_t expected = public_size();
    if (peer_public.size() != expected)
      return group_error(group_, "peer public value has " + std::to_string(peer_public.size()) +
                                     " bytes, expected " + std::to_string(expected));
    Point peer;
    int rc = 0;
    if (params_.montgomery) {
      // mbedTLS reads the RFC 7748 little-endian u-coordinate (masking its top bit).
      rc =
          mbedtls_ecp_point_read_binary(&key_.grp, &peer.p, peer_public.data(), peer_public.size());
    } else {
      Bytes sec1{0x04};  // RFC 5903 §7: x | y is SEC1's uncompressed form without its prefix
      sec1.insert(sec1.end(), peer_public.begin(), peer_public.end());
      rc = mbedtls_ecp_point_read_binary(&key_.grp, &peer.p, sec1.data(), sec1.size());
    }
    if (rc != 0)
      return group_error(group_, "peer public value cannot be decoded " + mbedtls_reason(rc));
    rc = mbedtls_ecp_check_pubkey(&key_.grp, &peer.p);
    if (rc != 0)
      return group_error(
          group_,
          std::string(params_.montgomery ? "peer public value is not a valid u-coordinate"
                                         : "peer public value is not a point on the curve") +
              " " + mbedtls_reason(rc));
    Mpi z;
    rc = mbedtls_ecdh_compute_shared(&key_.grp, &z.m, &peer.p, &key_.d, rng_callback, &blinding_);
    if (rc != 0)
      return group_error(group_, "shared secret computation failed " + mbedtls_reason(rc));
    Bytes out(params_.coordinate_size);
    rc = params_.montgomery ? mbedtls_mpi_write_binary_le(&z.m, out.data(), out.size())
                            : mbedtls_mpi_write_binary(&z.m, out.data(), out.size());
    if (rc != 0) return group_error(group_, "shared secret encoding failed " + mbedtls_reason(rc));
    if (params_.montgomery) {
      // RFC 7748 §6.1 / RFC 8031 §2.3: an all-zero result means a low-order peer point.
      uint8_t any = 0;
      for (uint8_t b : out) any |= b;
      if (any == 0) return group_error(group_, "shared secret is all zero (low-order peer point)");
    }
    return out;
  }

 private:
  size_t public_size() const {
    return params_.montgomery ? params_.coordinate_size : 2 * params_.coordinate_size;
  }

  Status<CryptoError> encode_public() {
    uint8_t buf[1 + 2 * 66];
    size_t len = 0;
    int rc = mbedtls_ecp_point_write_binary(&key_.grp, &key_.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &len,
                                            buf, sizeof buf);
    if (rc != 0) return group_error(group_, "public value encoding failed " + mbedtls_reason(rc));
    size_t skip = params_.montgomery ? 0 : 1;  // drop SEC1's 0x04
    if (len != public_size() + skip)
      return group_error(group_, "public value encoding has an unexpected length");
    public_.assign(buf + skip, buf + len);
    return {};
  }

  DhGroup group_;
  EcParams params_;
  DeterministicRng blinding_;
  mbedtls_ecp_keypair key_;
  Bytes public_;
};

}  // namespace

bool is_ec_group(DhGroup group) {
  return ec_params(group).has_value();
}

Result<std::unique_ptr<KeyExchange>, CryptoError> make_ec_key_exchange(DhGroup group, Rng* rng,
                                                                       ByteView private_key) {
  auto params = ec_params(group);
  if (!params) return group_error(group, "not an elliptic-curve group");
  Bytes seed = rng != nullptr ? rng->bytes(32) : Bytes(private_key.begin(), private_key.end());
  auto kx = std::make_unique<EcKeyExchange>(group, *params, seed);
  mbedtls_platform_zeroize(seed.data(), seed.size());
  Status<CryptoError> st = rng != nullptr ? kx->generate(*rng) : kx->load(private_key);
  if (!st) return Unexpected{st.error()};
  return std::unique_ptr<KeyExchange>(std::move(kx));
}

}  // namespace ikeme::ike::crypto::detail
