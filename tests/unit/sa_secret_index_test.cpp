// SecretIndex gives exactly find_psk's answer (ranking and tie-break), from an index.

#include <catch2/catch.hpp>

#include "ike/sa/secret_index.hpp"

using namespace ikeme;
using namespace ikeme::ike;

TEST_CASE("SecretIndex agrees with find_psk", "[sa][secret]") {
  auto id = [](const char* s) { return *Identity::parse(s); };
  std::vector<Identity> ids = {id("a@x"), id("b@x"), id("c@x"), id("d@x"), id("192.0.2.1")};
  std::vector<SharedSecret> secrets;
  // Every combination of up to two ids, some twice (the earlier must win), wildcards, %any.
  secrets.push_back({{}, {1}});
  for (size_t i = 0; i < ids.size(); ++i) {
    secrets.push_back({{ids[i]}, {2, static_cast<uint8_t>(i)}});
    for (size_t j = i + 1; j < ids.size(); ++j)
      secrets.push_back({{ids[i], ids[j]}, {3, static_cast<uint8_t>(i), static_cast<uint8_t>(j)}});
  }
  secrets.push_back({{id("b@x")}, {4}});
  secrets.push_back({{Identity::any()}, {5}});
  secrets.push_back({{}, {6}});
  std::vector<Identity> probes = ids;
  probes.push_back(id("nobody@x"));
  probes.push_back(Identity::any());
  for (size_t drop = 0; drop < 3; ++drop) {
    std::vector<SharedSecret> set = secrets;
    if (drop == 1) set.erase(set.begin());  // no leading wildcard
    if (drop == 2) set = {{{id("a@x")}, {7}}};
    SecretIndex index(set);
    for (const Identity& l : probes)
      for (const Identity& r : probes) {
        INFO(l.to_string() << " " << r.to_string());
        CHECK(index.find(l, r) == find_psk(set, l, r));
      }
  }
  CHECK(SecretIndex().find(id("a@x"), id("b@x")) == nullptr);
}
