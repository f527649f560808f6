// The mediator's pseudonym directory file (config/directory_file.*): entries, groups, default
// deny, and errors that name file:line:column.

#include <catch2/catch.hpp>

#include "config/directory_file.hpp"

using namespace ikeme::config;

TEST_CASE("directory: pseudonyms, groups and may_connect", "[config][directory]") {
  auto d = load_directory_string(R"(
pseudonyms:
  6cu1UTVw@medsrv.org:
    psk: 0x0102030405060708090a
    may_connect: [friends]
  av9oEPMz@medsrv.org:
    psk: a-long-enough-secret
    may_connect: 6cu1UTVw@medsrv.org
  cert@medsrv.org:
    auth: pubkey
  loner@medsrv.org:
    psk: another-secret
groups:
  friends: [av9oEPMz@medsrv.org, cert@medsrv.org]
)",
                                 "dir.yaml");
  REQUIRE(d.ok());
  CHECK(d->entries().size() == 4);
  CHECK(d->find("6cu1UTVw@medsrv.org")->psk.size() == 10);
  CHECK(d->find("cert@medsrv.org")->credential == CredentialKind::Pubkey);
  CHECK(d->may_connect("6cu1UTVw@medsrv.org", "av9oEPMz@medsrv.org"));
  CHECK(d->may_connect("6cu1UTVw@medsrv.org", "cert@medsrv.org"));
  CHECK(d->may_connect("av9oEPMz@medsrv.org", "6cu1UTVw@medsrv.org"));
  CHECK_FALSE(d->may_connect("av9oEPMz@medsrv.org", "cert@medsrv.org"));
  CHECK_FALSE(d->may_connect("loner@medsrv.org", "6cu1UTVw@medsrv.org"));  // default deny
  CHECK_FALSE(d->may_connect("cert@medsrv.org", "6cu1UTVw@medsrv.org"));
  CHECK_FALSE(d->may_connect("nobody@medsrv.org", "6cu1UTVw@medsrv.org"));
}

TEST_CASE("directory: errors name file:line:column", "[config][directory]") {
  auto err = [](const char* yaml) {
    auto d = load_directory_string(yaml, "dir.yaml");
    REQUIRE_FALSE(d.ok());
    return d.error().to_string();
  };
  CHECK(err("pseudonyms:\n  a@b.org:\n    psk: short\n") ==
        "dir.yaml:3:10: pseudonyms.a@b.org.psk: pre-shared key is too short (5 bytes); use at "
        "least 8 (ikemectl directory add generates 32 random bytes)");
  CHECK(err("pseudonyms:\n  a@b.org:\n    psk: long-enough\n    may_connect: [c@d.org]\n")
            .starts_with("dir.yaml:4:18: pseudonyms.a@b.org.may_connect: may_connect names "
                         "'c@d.org', which is neither"));
  CHECK(err("pseudonyms:\n  a@b.org:\n    psk: long-enough\n    may_conect: []\n")
            .starts_with("dir.yaml:4:5: "));
  CHECK(err("pseudonyms:\n  a@b.org: {}\n").starts_with("dir.yaml:2:3: "));
  CHECK(err("pseudonyms:\n  a@b.org:\n    auth: pubkey\ngroups:\n  g: [x@y.org]\n")
            .starts_with("dir.yaml:5:6: groups.g: group member 'x@y.org' is not a pseudonym"));
  CHECK(err("pseudonyms: [\n").starts_with("dir.yaml:"));
}
