// The Rng implementations: DeterministicRng is reproducible per seed, DrbgRng is seeded from the
// system's entropy.

#include <catch2/catch.hpp>

#include "ike/crypto/random.hpp"

using namespace ikeme;
using namespace ikeme::ike::crypto;

TEST_CASE("DeterministicRng: same seed, same stream; different seed, different stream",
          "[crypto]") {
  DeterministicRng a(Bytes{1, 2, 3}), b(Bytes{1, 2, 3}), c(Bytes{1, 2, 4});
  Bytes sa = a.bytes(3000);  // more than one CTR_DRBG request (1024 bytes)
  Bytes sb = b.bytes(3000);
  Bytes sc = c.bytes(3000);
  CHECK(sa == sb);
  CHECK(sa != sc);
  CHECK(a.u64() == b.u64());
  CHECK(a.u32() == b.u32());

  // Reproducibility needs the same seed *and* the same sequence of request sizes: CTR_DRBG
  // updates its state after every request, so 1 + 2999 bytes differ from 3000 after the first.
  DeterministicRng d(Bytes{1, 2, 3});
  Bytes first = d.bytes(1);
  Bytes rest = d.bytes(2999);
  CHECK(first[0] == sa[0]);
  CHECK(rest != Bytes(sa.begin() + 1, sa.end()));

  DeterministicRng n1(uint64_t{1}), n1b(uint64_t{1}), n2(uint64_t{2});
  CHECK(n1.bytes(64) == n1b.bytes(64));
  CHECK(DeterministicRng(uint64_t{1}).bytes(64) != n2.bytes(64));

  // Long seeds work and still distinguish.
  Bytes long1(1000, 0xaa), long2(1000, 0xaa);
  long2[999] = 0xab;
  CHECK(DeterministicRng(long1).bytes(32) == DeterministicRng(long1).bytes(32));
  CHECK(DeterministicRng(long1).bytes(32) != DeterministicRng(long2).bytes(32));
  CHECK(DeterministicRng(Bytes{}).bytes(32) != Bytes(32, 0));
}

TEST_CASE("DrbgRng: seeded from entropy, two instances differ", "[crypto]") {
  auto a = DrbgRng::create();
  auto b = DrbgRng::create();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  Bytes x = (*a)->bytes(32);
  CHECK(x.size() == 32);
  CHECK(x != (*b)->bytes(32));
  CHECK(x != (*a)->bytes(32));
  CHECK((*a)->bytes(5000).size() == 5000);
}
