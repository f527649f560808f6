// Finite-field groups: MODP_2048 (14) and MODP_3072 (15) of RFC 3526, with mbedTLS's copies of
// the primes (generator 2).

#include <mbedtls/dhm.h>
#include <mbedtls/platform_util.h>

#include <algorithm>
#include <optional>
#include <string>

#include "ike/crypto/key_exchange_groups.hpp"
#include "ike/crypto/mbedtls_mpi.hpp"

namespace ikeme::ike::crypto::detail {
namespace {

const unsigned char kModp2048P[] = MBEDTLS_DHM_RFC3526_MODP_2048_P_BIN;
const unsigned char kModp2048G[] = MBEDTLS_DHM_RFC3526_MODP_2048_G_BIN;
const unsigned char kModp3072P[] = MBEDTLS_DHM_RFC3526_MODP_3072_P_BIN;
const unsigned char kModp3072G[] = MBEDTLS_DHM_RFC3526_MODP_3072_G_BIN;

struct ModpParams {
  ByteView p;
  ByteView g;
};

std::optional<ModpParams> modp_params(DhGroup group) {
  switch (group) {
    case DhGroup::MODP_2048:
      return ModpParams{kModp2048P, kModp2048G};
    case DhGroup::MODP_3072:
      return ModpParams{kModp3072P, kModp3072G};
    default:
      return std::nullopt;
  }
}

class ModpKeyExchange final : public KeyExchange {
 public:
  ModpKeyExchange(DhGroup group, ModpParams params, ByteView blinding_seed)
      : group_(group), size_(params.p.size()), blinding_(blinding_seed) {
    mbedtls_dhm_init(&dhm_);
    Mpi p, g;
    setup_ok_ = mbedtls_mpi_read_binary(&p.m, params.p.data(), params.p.size()) == 0 &&
                mbedtls_mpi_read_binary(&g.m, params.g.data(), params.g.size()) == 0 &&
                mbedtls_dhm_set_group(&dhm_, &p.m, &g.m) == 0 &&
                mbedtls_mpi_sub_int(&p_minus_1_.m, &dhm_.P, 1) == 0;
  }
  ~ModpKeyExchange() override { mbedtls_dhm_free(&dhm_); }

  Status<CryptoError> generate(Rng& rng) {
    if (!setup_ok_) return group_error(group_, "group setup failed");
    public_.assign(size_, 0);
    // A private exponent as long as the modulus: mbedTLS draws it uniformly from [2, p-2].
    int rc = mbedtls_dhm_make_public(&dhm_, static_cast<int>(size_), public_.data(), size_,
                                     rng_callback, &rng);
    if (rc != 0) return group_error(group_, "key generation failed " + mbedtls_reason(rc));
    return {};
  }

  Status<CryptoError> load(ByteView private_key) {
    if (!setup_ok_) return group_error(group_, "group setup failed");
    if (private_key.empty() || private_key.size() > size_)
      return group_error(group_, "private exponent has " + std::to_string(private_key.size()) +
                                     " bytes, expected 1 to " + std::to_string(size_));
    if (mbedtls_mpi_read_binary(&dhm_.X, private_key.data(), private_key.size()) != 0 ||
        !in_open_range(dhm_.X))
      return group_error(group_, "private exponent is not in 1 < x < p-1");
    public_.assign(size_, 0);
    int rc = mbedtls_mpi_exp_mod(&dhm_.GX, &dhm_.G, &dhm_.X, &dhm_.P, &dhm_.RP);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&dhm_.GX, public_.data(), public_.size());
    if (rc != 0)
      return group_error(group_, "public value computation failed " + mbedtls_reason(rc));
    return {};
  }

  DhGroup group() const override { return group_; }
  const Bytes& public_value() const override { return public_; }

  Result<std::unique_ptr<KeyExchange>, CryptoError> duplicate(Rng& rng) const override {
    auto params = modp_params(group_);
    if (!params || !setup_ok_) return group_error(group_, "group setup failed");
    Bytes seed = rng.bytes(32);
    auto copy = std::make_unique<ModpKeyExchange>(group_, *params, seed);
    mbedtls_platform_zeroize(seed.data(), seed.size());
    if (!copy->setup_ok_ || mbedtls_mpi_copy(&copy->dhm_.X, &dhm_.X) != 0 ||
        mbedtls_mpi_copy(&copy->dhm_.GX, &dhm_.GX) != 0)
      return group_error(group_, "cannot copy the private exponent");
    copy->public_ = public_;
    return std::unique_ptr<KeyExchange>(std::move(copy));
  }

  Result<Bytes, CryptoError> shared_secret(ByteView peer_public) override {
    if (peer_public.size() != size_)
      return group_error(group_, "peer public value has " + std::to_string(peer_public.size()) +
                                     " bytes, expected " + std::to_string(size_));
    Mpi y;
    if (mbedtls_mpi_read_binary(&y.m, peer_public.data(), peer_public.size()) != 0)
      return group_error(group_, "peer public value cannot be decoded");
    if (!in_open_range(y.m)) return group_error(group_, "peer public value is not in 1 < y < p-1");
    int rc = mbedtls_dhm_read_public(&dhm_, peer_public.data(), peer_public.size());
    if (rc != 0) return group_error(group_, "peer public value refused " + mbedtls_reason(rc));
    Bytes out(size_);
    size_t len = 0;
    rc = mbedtls_dhm_calc_secret(&dhm_, out.data(), out.size(), &len, rng_callback, &blinding_);
    if (rc != 0)
      return group_error(group_, "shared secret computation failed " + mbedtls_reason(rc));
    // mbedTLS writes g^xy without leading zeros; RFC 7296 §2.14 wants the modulus length.
    std::copy_backward(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len), out.end());
    std::fill_n(out.begin(), size_ - len, 0);
    return out;
  }

 private:
  // 1 < v < p-1
  bool in_open_range(const mbedtls_mpi& v) const {
    return mbedtls_mpi_cmp_int(&v, 1) > 0 && mbedtls_mpi_cmp_mpi(&v, &p_minus_1_.m) < 0;
  }

  DhGroup group_;
  size_t size_;
  DeterministicRng blinding_;  // side-channel blinding only; never influences a result
  mbedtls_dhm_context dhm_;
  Mpi p_minus_1_;
  bool setup_ok_ = false;
  Bytes public_;
};

}  // namespace

bool is_modp_group(DhGroup group) {
  return modp_params(group).has_value();
}

Result<std::unique_ptr<KeyExchange>, CryptoError> make_modp_key_exchange(DhGroup group, Rng* rng,
                                                                         ByteView private_key) {
  auto params = modp_params(group);
  if (!params) return group_error(group, "not a MODP group");
  Bytes seed = rng != nullptr ? rng->bytes(32) : Bytes(private_key.begin(), private_key.end());
  auto kx = std::make_unique<ModpKeyExchange>(group, *params, seed);
  mbedtls_platform_zeroize(seed.data(), seed.size());
  Status<CryptoError> st = rng != nullptr ? kx->generate(*rng) : kx->load(private_key);
  if (!st) return Unexpected{st.error()};
  return std::unique_ptr<KeyExchange>(std::move(kx));
}

}  // namespace ikeme::ike::crypto::detail
