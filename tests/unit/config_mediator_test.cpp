// The mediator's configuration (config/mediator_config.*): the peer configuration's sections
// plus `mediator:`, mediation-only connections, defaults and errors with file:line:column.

#include <catch2/catch.hpp>

#include "config/directory_file.hpp"
#include "config/mediator_config.hpp"

using namespace ikeme::config;

namespace {

const char* kBase = R"(connections:
  medsrv:
    mediation: yes
    local:
      id: carol@strongswan.org
    remote:
      auth: psk
    proposals: [aes128-sha256-x25519]
)";

}  // namespace

TEST_CASE("mediator config: defaults and the mediator section", "[config][mediator]") {
  auto c = load_mediator_config_string(std::string(kBase) + R"(mediator:
  directory: dir/directory.yaml
  metrics: "[::1]:9477"
  ke_reuse: 30s
  ke_pregenerate: 64
  limits:
    max_endpoints: 4
    connects_per_second: 0.5
    connects_burst: 2
    relay_timeout: 1500ms
)",
                                       "/etc/ikeme/mediator.yaml");
  REQUIRE(c.ok());
  CHECK(c->mediator.directory == "/etc/ikeme/dir/directory.yaml");
  REQUIRE(c->mediator.metrics);
  CHECK(c->mediator.metrics->to_string() == "::1[9477]");
  CHECK(c->base.engine.ke_reuse_lifetime == std::chrono::seconds(30));
  CHECK(c->mediator.ke_pregenerate == 64);
  CHECK(c->mediator.limits.max_endpoints == 4);
  CHECK(c->mediator.limits.connects_per_second == 0.5);
  CHECK(c->mediator.limits.relay_timeout == std::chrono::milliseconds(1500));
  CHECK(c->mediator.limits.max_pending_per_peer == 8);  // default
  CHECK(c->base.daemon.control_socket == kDefaultMediatorControlSocket);
  CHECK(c->base.engine.connections.at(0).mediation);
}

TEST_CASE("mediator config: errors", "[config][mediator]") {
  auto err = [](const std::string& yaml) {
    auto c = load_mediator_config_string(yaml, "m.yaml");
    REQUIRE_FALSE(c.ok());
    return c.error().to_string();
  };
  CHECK(err(kBase) == "m.yaml:1:1: mediator: required field is missing");
  CHECK(err(std::string(kBase) + "mediator:\n  directory: d.yaml\n  metric: 1.2.3.4:5\n")
            .starts_with("m.yaml:11:3: mediator.metric: unknown key 'metric', did you mean "
                         "'metrics'?"));
  CHECK(err(std::string(kBase) + "mediator:\n  directory: d.yaml\n  metrics: localhost:80\n")
            .starts_with("m.yaml:11:12: mediator.metrics: expected ADDRESS:PORT"));
  CHECK(err(std::string(kBase) +
            "mediator:\n  directory: d.yaml\n  limits:\n    inits_per_second: -1\n")
            .starts_with("m.yaml:12:23: mediator.limits.inits_per_second: expected a positive "
                         "number"));
  CHECK(err(std::string(kBase) + "mediator:\n  directory: d.yaml\n  ke_pregenerate: 5000\n") ==
        "m.yaml:11:19: mediator.ke_pregenerate: value 5000 is out of range 0..4096");
  auto defaults =
      load_mediator_config_string(std::string(kBase) + "mediator:\n  directory: d\n", "m.yaml");
  REQUIRE(defaults.ok());
  CHECK(defaults->mediator.ke_pregenerate == 256);
  CHECK(defaults->base.engine.ke_reuse_lifetime.count() == 0);
  std::string plain = kBase;
  plain.replace(plain.find("mediation: yes"), 14, "mediation: no");
  CHECK(err(plain + "mediator:\n  directory: d.yaml\n")
            .starts_with("m.yaml:3:16: connections.medsrv.mediation: the mediator accepts "
                         "mediation connections only"));
}

TEST_CASE("mediator config: the examples load", "[config][mediator]") {
  const std::string dir = std::string(IKEME_TEST_DATA_DIR) + "/../../config/examples/";
  auto c = load_mediator_config(dir + "mediator.yaml");
  REQUIRE(c.ok());
  CHECK(c->mediator.directory.filename() == "directory.yaml");
  auto d = load_directory(c->mediator.directory);
  INFO((d.ok() ? std::string() : d.error().to_string()));
  REQUIRE(d.ok());
  CHECK(d->entries().size() == 3);
  CHECK(d->may_connect("av9oEPMz@medsrv.example.org", "laptop@medsrv.example.org"));
  CHECK_FALSE(d->may_connect("laptop@medsrv.example.org", "av9oEPMz@medsrv.example.org"));
}
