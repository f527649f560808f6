// IKE identities (ike/sa/identity) and the PSK lookup between two of them (ike/sa/connection).

#include <catch2/catch.hpp>

#include "ike/sa/connection.hpp"
#include "ike/sa/identity.hpp"

using namespace ikeme;
using namespace ikeme::ike;

namespace {

Identity id(std::string_view text) {
  auto i = Identity::parse(text);
  INFO(text);
  REQUIRE(i);
  return *i;
}

Bytes text_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

SharedSecret secret(std::vector<std::string_view> ids, std::string_view value) {
  SharedSecret s;
  for (auto i : ids) s.ids.push_back(id(i));
  s.secret = text_bytes(value);
  return s;
}

}  // namespace

// --- Identity::parse -------------------------------------------------------------------------

TEST_CASE("identity: IPv4 and IPv6 addresses", "[sa]") {
  Identity v4 = id("192.0.2.1");
  CHECK(v4.type() == IdType::ID_IPV4_ADDR);
  CHECK(v4.data() == Bytes{192, 0, 2, 1});
  CHECK_FALSE(v4.is_any());
  CHECK(v4.to_string() == "192.0.2.1");

  Identity v6 = id("2001:db8::1");
  CHECK(v6.type() == IdType::ID_IPV6_ADDR);
  CHECK(v6.data() == Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  CHECK(v6.to_string() == "2001:db8::1");
  // Rendered canonically.
  CHECK(id("2001:0DB8:0::0001").to_string() == "2001:db8::1");
  CHECK(id("::1").type() == IdType::ID_IPV6_ADDR);
}

TEST_CASE("identity: user@host is RFC822, @fqdn and fqdn are FQDN", "[sa]") {
  Identity mail = id("alice@example.com");
  CHECK(mail.type() == IdType::ID_RFC822_ADDR);
  CHECK(mail.data() == text_bytes("alice@example.com"));
  CHECK(mail.to_string() == "alice@example.com");

  Identity at = id("@gw.example.com");
  CHECK(at.type() == IdType::ID_FQDN);
  CHECK(at.data() == text_bytes("gw.example.com"));
  CHECK(at.to_string() == "gw.example.com");

  Identity bare = id("gw.example.com");
  CHECK(bare == at);
  CHECK(id("moon").type() == IdType::ID_FQDN);
  CHECK(id("moon").data() == text_bytes("moon"));
  // Not an address: taken as a name.
  CHECK(id("10.0.0.256").type() == IdType::ID_FQDN);
  CHECK(id("10.0.0.256").data() == text_bytes("10.0.0.256"));
  // The leading '@' forces FQDN even with another '@' inside; "@@" forces RFC822 (strongSwan).
  CHECK(id("@alice@example.com").type() == IdType::ID_FQDN);
  CHECK(id("@alice@example.com").data() == text_bytes("alice@example.com"));
  CHECK(id("@@alice@example.com").type() == IdType::ID_RFC822_ADDR);
  CHECK(id("@@alice@example.com").data() == text_bytes("alice@example.com"));
  CHECK(id("@@carol").type() == IdType::ID_RFC822_ADDR);
  CHECK(id("@@carol").data() == text_bytes("carol"));
}

TEST_CASE("identity: @#hex is a KEY_ID", "[sa]") {
  Identity k = id("@#0123abCD");
  CHECK(k.type() == IdType::ID_KEY_ID);
  CHECK(k.data() == Bytes{0x01, 0x23, 0xab, 0xcd});
  CHECK(k.to_string() == "@#0123abcd");
  CHECK(id("@#00").data() == Bytes{0x00});
  CHECK(id("@#fF9a").data() == Bytes{0xff, 0x9a});
}

TEST_CASE("identity: %any and invalid texts", "[sa]") {
  Identity any = id("%any");
  CHECK(any.is_any());
  CHECK(any.to_string() == "%any");
  CHECK(any == Identity::any());
  CHECK(id("%any6").is_any());
  CHECK_FALSE(Identity::parse(""));
  CHECK_FALSE(Identity::parse("@"));
  CHECK_FALSE(Identity::parse("@@"));
  CHECK_FALSE(Identity::parse("@#"));
  CHECK_FALSE(Identity::parse("@#abc"));  // odd number of digits
  CHECK_FALSE(Identity::parse("@#zz"));
  CHECK_FALSE(Identity::parse("@#0g"));
  CHECK_FALSE(Identity::parse("@#g0"));
}

TEST_CASE("identity: defaults, payloads and equality", "[sa]") {
  Identity d;
  CHECK(d.type() == IdType::ID_FQDN);
  CHECK(d.data().empty());
  CHECK_FALSE(d.is_any());
  CHECK(Identity::any().data().empty());
  CHECK_FALSE(d == Identity::any());

  Identity mail = id("alice@example.com");
  IdPayload p = mail.payload();
  CHECK(p.id_type == IdType::ID_RFC822_ADDR);
  CHECK(p.data == text_bytes("alice@example.com"));
  CHECK(Identity::from_payload(p) == mail);
  CHECK(Identity::from_payload(IdPayload{IdType::ID_IPV4_ADDR, {10, 0, 0, 1}}) == id("10.0.0.1"));
  CHECK(Identity(IdType::ID_FQDN, text_bytes("a")) != Identity(IdType::ID_KEY_ID, text_bytes("a")));
}

TEST_CASE("identity: to_string round trips through parse", "[sa]") {
  for (const char* text :
       {"192.0.2.1", "2001:db8::1", "alice@example.com", "gw.example.com", "@#0123abcd", "%any"}) {
    INFO(text);
    Identity i = id(text);
    CHECK(i.to_string() == text);
    CHECK(id(i.to_string()) == i);
  }
  // "@fqdn" renders without the '@' and parses back the same.
  CHECK(id(id("@moon.example.org").to_string()) == id("@moon.example.org"));
}

TEST_CASE("identity: other types and malformed addresses render as TYPE:hex", "[sa]") {
  CHECK(Identity(IdType::ID_DER_ASN1_DN, {0x30, 0x00}).to_string() == "ID_DER_ASN1_DN:3000");
  CHECK(Identity(IdType::ID_DER_ASN1_GN, {}).to_string() == "ID_DER_ASN1_GN:");
  CHECK(Identity(IdType::ID_IPV4_ADDR, {10, 0, 0}).to_string() == "ID_IPV4_ADDR:0a0000");
  // An address of the other family's length is not rendered as that family.
  CHECK(Identity(IdType::ID_IPV6_ADDR, {1, 2, 3, 4}).to_string() == "ID_IPV6_ADDR:01020304");
  CHECK(Identity(IdType::ID_IPV4_ADDR, Bytes(16, 0xff)).to_string() ==
        "ID_IPV4_ADDR:ffffffffffffffffffffffffffffffff");
}

// --- Identity::matches -----------------------------------------------------------------------

TEST_CASE("identity: matches compares type and data, %any matches everything", "[sa]") {
  Identity any = Identity::any();
  for (const char* text :
       {"192.0.2.1", "2001:db8::1", "alice@example.com", "gw.example.com", "@#0102"}) {
    INFO(text);
    CHECK(any.matches(id(text)));
    CHECK(id(text).matches(id(text)));
    CHECK_FALSE(id(text).matches(any));
  }
  CHECK(any.matches(any));
  // Not even an identity whose type and (empty) data equal %any's.
  CHECK_FALSE(Identity().matches(any));
  CHECK(Identity().matches(Identity()));
  CHECK_FALSE(id("gw.example.com").matches(id("gw2.example.com")));
  CHECK_FALSE(
      id("gw.example.com").matches(Identity(IdType::ID_KEY_ID, text_bytes("gw.example.com"))));
  CHECK_FALSE(id("alice@example.com").matches(id("@alice@example.com")));  // RFC822 vs FQDN
  CHECK_FALSE(id("10.0.0.1").matches(id("10.0.0.2")));
  CHECK_FALSE(id("10.0.0.1").matches(Identity(IdType::ID_FQDN, Bytes{10, 0, 0, 1})));
  CHECK(id("10.0.0.1")
            .matches(Identity::from_payload(IdPayload{IdType::ID_IPV4_ADDR, {10, 0, 0, 1}})));
}

// --- find_psk --------------------------------------------------------------------------------

TEST_CASE("identity: find_psk ranks both ids > remote only > local only > wildcard", "[sa]") {
  Identity moon = id("moon.strongswan.org"), sun = id("sun.strongswan.org");
  SharedSecret wildcard = secret({}, "wild");
  SharedSecret local_only = secret({"moon.strongswan.org"}, "local");
  SharedSecret remote_only = secret({"sun.strongswan.org"}, "remote");
  SharedSecret both = secret({"sun.strongswan.org", "moon.strongswan.org"}, "both");
  SharedSecret other = secret({"carol@strongswan.org"}, "other");

  std::vector<SharedSecret> all{wildcard, local_only, other, remote_only, both};
  const SharedSecret* s = find_psk(all, moon, sun);
  REQUIRE(s);
  CHECK(s == &all[4]);
  CHECK(s->secret == text_bytes("both"));

  std::vector<SharedSecret> no_both{both, remote_only, local_only, wildcard};
  no_both.erase(no_both.begin());
  s = find_psk(no_both, moon, sun);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("remote"));

  std::vector<SharedSecret> local_and_wild{wildcard, local_only, other};
  s = find_psk(local_and_wild, moon, sun);
  REQUIRE(s);
  CHECK(s == &local_and_wild[1]);

  std::vector<SharedSecret> only_wild{other, wildcard};
  s = find_psk(only_wild, moon, sun);
  REQUIRE(s);
  CHECK(s == &only_wild[1]);

  // Swapping local and remote swaps the winner between the one-sided secrets.
  std::vector<SharedSecret> one_sided{remote_only, local_only};
  s = find_psk(one_sided, sun, moon);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("local"));  // names "moon", now the remote
  s = find_psk(one_sided, moon, sun);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("remote"));
}

TEST_CASE("identity: find_psk without a match returns null", "[sa]") {
  Identity moon = id("moon.strongswan.org"), sun = id("sun.strongswan.org");
  CHECK(find_psk({}, moon, sun) == nullptr);
  std::vector<SharedSecret> unrelated{secret({"carol@strongswan.org"}, "c"),
                                      secret({"10.0.0.1", "venus.strongswan.org"}, "v")};
  CHECK(find_psk(unrelated, moon, sun) == nullptr);
  // The same text as another identity type does not match.
  std::vector<SharedSecret> key_id{SharedSecret{
      {Identity(IdType::ID_KEY_ID, text_bytes("moon.strongswan.org"))}, text_bytes("k")}};
  CHECK(find_psk(key_id, moon, sun) == nullptr);
}

TEST_CASE("identity: find_psk ties go to the first secret, extra ids do not hurt", "[sa]") {
  Identity moon = id("moon.strongswan.org"), sun = id("sun.strongswan.org");
  std::vector<SharedSecret> two_wild{secret({}, "first"), secret({}, "second")};
  const SharedSecret* s = find_psk(two_wild, moon, sun);
  REQUIRE(s);
  CHECK(s == &two_wild[0]);

  std::vector<SharedSecret> two_both{
      secret({"moon.strongswan.org", "sun.strongswan.org"}, "first"),
      secret({"carol@strongswan.org", "sun.strongswan.org", "moon.strongswan.org"}, "second")};
  s = find_psk(two_both, moon, sun);
  REQUIRE(s);
  CHECK(s == &two_both[0]);

  std::vector<SharedSecret> extra{
      secret({"sun.strongswan.org"}, "remote"),
      secret({"carol@strongswan.org", "sun.strongswan.org", "moon.strongswan.org"}, "group")};
  s = find_psk(extra, moon, sun);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("group"));
}

TEST_CASE("identity: find_psk with a %any peer or %any in a secret", "[sa]") {
  Identity moon = id("moon.strongswan.org"), sun = id("sun.strongswan.org");
  // An initiator that does not know the peer's identity: only secrets naming us (or nobody).
  std::vector<SharedSecret> secrets{secret({}, "wild"), secret({"sun.strongswan.org"}, "remote"),
                                    secret({"moon.strongswan.org"}, "local")};
  const SharedSecret* s = find_psk(secrets, moon, Identity::any());
  REQUIRE(s);
  CHECK(s->secret == text_bytes("local"));
  // A %any entry in a secret's list names no one: this one counts as naming only moon.
  std::vector<SharedSecret> with_any{secret({"%any", "moon.strongswan.org"}, "any+moon"),
                                     secret({"sun.strongswan.org"}, "remote")};
  s = find_psk(with_any, moon, sun);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("remote"));
  with_any.pop_back();
  s = find_psk(with_any, moon, sun);
  REQUIRE(s);
  CHECK(s->secret == text_bytes("any+moon"));
}
