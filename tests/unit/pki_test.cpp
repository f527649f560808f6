// Certificate authentication (ike/pki): loading certificates and CRLs, chain validation against
// a caller-given time, revocation, identity matching and CERTREQ/CERT helpers. Test material:
// tests/data/pki (made once by tests/data/pki/make.sh with strongSwan's `pki`) and the real
// strongSwan run's certificates and capture (tests/data/strongswan-p2p).

#include <catch2/catch.hpp>

#include <mbedtls/pk.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ike/codec/message.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/certificate_key.hpp"
#include "ike/pki/certreq.hpp"
#include "ike/pki/crl.hpp"
#include "ike/pki/der.hpp"
#include "ike/pki/identity_match.hpp"
#include "ike/pki/trust_store.hpp"
#include "peer/ctl/capture.hpp"
#include "peer/ctl/datagram_decoder.hpp"
#include "peer/ctl/ike_keys.hpp"

using namespace ikeme;
using namespace ikeme::ike;
using namespace ikeme::ike::pki;

namespace {

const std::string kPki = std::string(IKEME_TEST_DATA_DIR) + "/pki/";
const std::string kSwan = kPki + "strongswan/";
const std::string kVectors = std::string(IKEME_TEST_DATA_DIR) + "/strongswan-p2p/";

Certificate cert(const std::string& path) {
  auto c = Certificate::load(path);
  INFO(path << ": " << (c ? "" : c.error().message()));
  REQUIRE(c.ok());
  return std::move(*c);
}

Crl crl(const std::string& path) {
  auto c = Crl::load(path);
  INFO(path << ": " << (c ? "" : c.error().message()));
  REQUIRE(c.ok());
  return std::move(*c);
}

TrustStore store(std::vector<std::string> cas, std::vector<std::string> crls = {}) {
  TrustStore s;
  for (const auto& f : cas) {
    auto ok = s.add_ca_file(f);
    INFO(f << ": " << (ok ? "" : ok.error().message()));
    REQUIRE(ok.ok());
  }
  for (const auto& f : crls) {
    auto ok = s.add_crl_file(f);
    INFO(f << ": " << (ok ? "" : ok.error().message()));
    REQUIRE(ok.ok());
  }
  return s;
}

Bytes bytes(ByteView v) {
  return Bytes(v.begin(), v.end());
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] == ':') ++i;
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Identity id(std::string_view text) {
  auto i = Identity::parse(text);
  REQUIRE(i);
  return *i;
}

// The error kind of a failed validation (REQUIREs the failure).
PkiError refused(const Result<ValidatedChain, PkiError>& r) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message());
  return r.error();
}

const TimePoint k2027 = utc_time(2027, 6, 1);

}  // namespace

// --- time helpers ------------------------------------------------------------------------------

TEST_CASE("pki: UTC time conversion and formatting", "[pki]") {
  CHECK(utc_time(1970, 1, 1).time_since_epoch().count() == 0);
  CHECK(utc_time(2026, 2, 1).time_since_epoch().count() == 1769904000);
  CHECK(utc_time(2000, 3, 1).time_since_epoch().count() == 951868800);  // after a leap day
  CHECK(format_time(utc_time(2026, 11, 26, 17, 2, 55)) == "2026-11-26 17:02:55 UTC");
  CHECK(format_time(utc_time(1969, 12, 31, 23, 59, 59)) == "1969-12-31 23:59:59 UTC");
}

// --- loading -----------------------------------------------------------------------------------

TEST_CASE("pki: a certificate loads from PEM and from DER to the same thing", "[pki]") {
  Certificate pem = cert(kPki + "moonCert.pem");
  Certificate der = cert(kPki + "moonCert.der");
  CHECK(bytes(pem.der()) == bytes(der.der()));
  CHECK(pem.subject() == "C=CH, O=ikeme Test, CN=moon.ikeme.test");
  CHECK(pem.issuer() == "C=CH, O=ikeme Test, CN=ikeme Test Root CA");
  CHECK(pem.serial_text() == "03");
  CHECK(pem.not_before() == utc_time(2026, 1, 1));
  CHECK(pem.not_after() == utc_time(2031, 1, 1));
  CHECK(pem.valid_at(utc_time(2026, 1, 1)));  // both bounds inclusive
  CHECK(pem.valid_at(utc_time(2031, 1, 1)));
  CHECK_FALSE(pem.valid_at(utc_time(2031, 1, 1, 0, 0, 1)));
  CHECK_FALSE(pem.is_ca());
  CHECK_FALSE(pem.key_usage());
  CHECK(pem.key_usage_allows(key_usage::kDigitalSignature));
  CHECK(pem.key_type() == KeyType::Rsa);
  CHECK(pem.key_bits() == 2048);
  CHECK_FALSE(pem.is_self_issued());

  // From bytes, both encodings, and the explicit entry points.
  auto text = read_file(kPki + "moonCert.pem");
  REQUIRE(text.ok());
  auto from_pem = Certificate::from_pem(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  REQUIRE(from_pem.ok());
  CHECK(bytes(from_pem->der()) == bytes(der.der()));
  auto from_der = Certificate::from_der(der.der());
  REQUIRE(from_der.ok());
  CHECK(from_der->subject() == pem.subject());
  Certificate copy = pem.clone();
  CHECK(bytes(copy.der()) == bytes(pem.der()));

  // The CERT payload body: encoding 4 and the DER.
  CertPayload p = pem.cert_payload();
  CHECK(p.encoding == CertEncoding::X509_SIGNATURE);
  CHECK(p.data == bytes(pem.der()));
}

TEST_CASE("pki: CA certificate properties", "[pki]") {
  Certificate root = cert(kPki + "rootCa.pem");
  Certificate root_der = cert(kPki + "rootCa.der");
  CHECK(bytes(root.der()) == bytes(root_der.der()));
  CHECK(root.is_ca());
  CHECK(root.is_self_issued());
  CHECK_FALSE(root.path_len_constraint());
  REQUIRE(root.key_usage());
  CHECK(*root.key_usage() == (key_usage::kKeyCertSign | key_usage::kCrlSign));
  CHECK(root.key_type() == KeyType::Rsa);
  CHECK(root.key_bits() == 3072);
  // Known answers from `pki --print`: keyid = SHA-1(SPKI), subjkey = SHA-1(public key) = SKI.
  CHECK(bytes(root.public_key_info_sha1()) == from_hex("6d21d348a6101fbd14f5341c7a21718eb1101dac"));
  CHECK(bytes(root.public_key_sha1()) == from_hex("80a53154a981a58b8fc99b3a4ea5076533ade786"));
  REQUIRE(root.subject_key_identifier());
  CHECK(*root.subject_key_identifier() == from_hex("80a53154a981a58b8fc99b3a4ea5076533ade786"));

  Certificate inter = cert(kPki + "interCa.pem");
  CHECK(inter.is_ca());
  REQUIRE(inter.path_len_constraint());
  CHECK(*inter.path_len_constraint() == 0);
  CHECK(inter.key_type() == KeyType::Ecdsa);
  CHECK(inter.key_bits() == 384);
  CHECK(bytes(inter.public_key_info_sha1()) ==
        from_hex("7437553b1b9e456e248d484d41c772e3c3fab83e"));

  Certificate ku = cert(kPki + "keyUsageCert.pem");
  REQUIRE(ku.key_usage());
  CHECK(*ku.key_usage() == key_usage::kCrlSign);
  CHECK_FALSE(ku.key_usage_allows(key_usage::kDigitalSignature));
}

TEST_CASE("pki: the public key is usable by mbedTLS and exported as SubjectPublicKeyInfo",
          "[pki]") {
  Certificate moon = cert(kPki + "moonCert.pem");
  CHECK(mbedtls_pk_can_do(&moon.public_key(), MBEDTLS_PK_RSA));
  // The SPKI DER re-imports to the same key.
  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  REQUIRE(mbedtls_pk_parse_public_key(&pk, moon.public_key_info().data(),
                                      moon.public_key_info().size()) == 0);
  unsigned char buf[1024];
  int n = mbedtls_pk_write_pubkey_der(&pk, buf, sizeof buf);
  REQUIRE(n > 0);
  CHECK(Bytes(buf + sizeof buf - n, buf + sizeof buf) == bytes(moon.public_key_info()));
  mbedtls_pk_free(&pk);
  Certificate sun = cert(kPki + "sunCert.pem");
  CHECK(mbedtls_pk_can_do(&sun.public_key(), MBEDTLS_PK_ECDSA));
}

TEST_CASE("pki: the certificate key bridges to the signature layer", "[pki]") {
  auto moon_key_file = read_file(kPki + "moonKey.pem");
  auto sun_key_file = read_file(kPki + "sunKey.pem");
  REQUIRE(moon_key_file.ok());
  REQUIRE(sun_key_file.ok());
  auto moon_key = crypto::PrivateKey::load(*moon_key_file);
  auto sun_key = crypto::PrivateKey::load(*sun_key_file);
  REQUIRE(moon_key.ok());
  REQUIRE(sun_key.ok());
  Certificate moon = cert(kPki + "moonCert.pem");
  Certificate sun = cert(kPki + "sunCert.pem");
  auto pub = certificate_public_key(moon);
  REQUIRE(pub.ok());
  CHECK(pub->type() == crypto::KeyType::RSA);
  CHECK(pub->bits() == 2048);
  CHECK(pub->spki_der() == bytes(moon.public_key_info()));
  auto sun_pub = certificate_public_key(sun);
  REQUIRE(sun_pub.ok());
  CHECK(sun_pub->type() == crypto::KeyType::ECDSA_P256);
  CHECK(certificate_matches_key(moon, *moon_key));
  CHECK(certificate_matches_key(sun, *sun_key));
  CHECK_FALSE(certificate_matches_key(moon, *sun_key));
  CHECK_FALSE(certificate_matches_key(sun, *moon_key));
}

TEST_CASE("pki: subjectAltNames of every kind", "[pki]") {
  Certificate moon = cert(kPki + "moonCert.pem");
  auto sans = moon.subject_alt_names();
  std::vector<std::string> text;
  for (const auto& s : sans) text.push_back(s.to_string());
  CHECK(text == std::vector<std::string>{"DNS:moon.ikeme.test", "email:moon@ikeme.test",
                                         "IP:192.0.2.1", "IP:2001:db8::1"});
  CHECK(cert(kPki + "cnOnlyCert.pem").subject_alt_names().empty());
  // The strongSwan certificates carry their identity as an rfc822Name.
  auto carol = cert(kSwan + "carolCert.pem").subject_alt_names();
  REQUIRE(carol.size() == 1);
  CHECK(carol[0].type == SubjectAltName::Type::Email);
  CHECK(carol[0].to_string() == "email:carol@strongswan.org");
}

TEST_CASE("pki: bundles, errors and CRL loading", "[pki]") {
  // Two PEM certificates in one buffer.
  auto a = read_file(kPki + "rootCa.pem"), b = read_file(kPki + "interCa.pem");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  Bytes bundle = *a;
  bundle.insert(bundle.end(), b->begin(), b->end());
  auto all = Certificate::parse_all(bundle);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[1].subject() == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");
  auto one = Certificate::parse(bundle);
  REQUIRE_FALSE(one.ok());
  CHECK(one.error().kind == PkiErrorKind::Parse);

  auto missing = Certificate::load(kPki + "no-such-file.pem");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == PkiErrorKind::Io);
  Bytes garbage{0x30, 0x03, 0x02, 0x01, 0x01};
  auto bad = Certificate::parse(garbage);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == PkiErrorKind::Parse);
  Certificate moon = cert(kPki + "moonCert.der");
  Bytes trailing = bytes(moon.der());
  trailing.push_back(0);
  CHECK_FALSE(Certificate::from_der(trailing).ok());
  // A private key is not a certificate.
  CHECK_FALSE(Certificate::load(kPki + "moonKey.pem").ok());

  Crl pem = crl(kPki + "rootCrl.pem");
  Crl der = crl(kPki + "rootCrl.der");
  CHECK(bytes(pem.der()) == bytes(der.der()));
  CHECK(pem.issuer() == "C=CH, O=ikeme Test, CN=ikeme Test Root CA");
  CHECK(pem.this_update() == utc_time(2026, 1, 1));
  REQUIRE(pem.next_update());
  CHECK(*pem.next_update() == utc_time(2028, 1, 1));
  CHECK(pem.revoked_count() == 1);
  auto r = pem.find(cert(kPki + "revokedCert.pem").serial());
  REQUIRE(r);
  CHECK(r->date == utc_time(2026, 2, 1));
  REQUIRE(r->reason);
  CHECK(crl_reason_name(*r->reason) == "key compromise");
  CHECK_FALSE(pem.find(moon.serial()));
  CHECK(pem.issued_by(cert(kPki + "rootCa.pem")));
  CHECK_FALSE(pem.issued_by(cert(kPki + "rogueCa.pem")));  // same name, other key
  CHECK_FALSE(crl(kPki + "rogueCrl.pem").issued_by(cert(kPki + "rootCa.pem")));
  CHECK(crl(kPki + "interCrl.pem").revoked_count() == 0);
  CHECK_FALSE(Crl::load(kPki + "moonCert.pem").ok());
}

// --- chain validation ----------------------------------------------------------------------------

TEST_CASE("pki: the strongSwan certificates validate against their CA inside their validity",
          "[pki]") {
  TrustStore s = store({kSwan + "caCert.pem"});
  for (const char* name : {"carolCert.pem", "aliceCert.pem", "bobCert.pem"}) {
    INFO(name);
    Certificate c = cert(kSwan + name);
    auto r = s.validate(c, {}, k2027);
    INFO((r ? "" : r.error().message()));
    REQUIRE(r.ok());
    REQUIRE(r->path.size() == 2);
    CHECK(r->path[0].source == ChainElement::Source::EndEntity);
    CHECK(r->anchor().source == ChainElement::Source::TrustAnchor);
    CHECK(r->anchor().subject == "C=CH, O=strongSwan Project, CN=strongSwan Root CA (anc)");
    CHECK(r->path[0].revocation == RevocationStatus::Unknown);  // no CRL loaded
  }
  Certificate carol = cert(kSwan + "carolCert.pem");
  // carol: notBefore 2026-11-26 17:02:55, notAfter 2031-11-25 17:02:55 (`pki --print`).
  CHECK(s.validate(carol, {}, utc_time(2026, 11, 26, 17, 2, 55)).ok());
  CHECK(s.validate(carol, {}, utc_time(2031, 11, 25, 17, 2, 55)).ok());
  PkiError early = refused(s.validate(carol, {}, utc_time(2026, 11, 26, 17, 2, 54)));
  CHECK(early.kind == PkiErrorKind::NotYetValid);
  CHECK(early.subject == "C=CH, O=strongSwan Project, OU=Research, CN=carol@strongswan.org");
  CHECK(early.detail.find("2026-11-26 17:02:55 UTC") != std::string::npos);
  PkiError late = refused(s.validate(carol, {}, utc_time(2031, 11, 25, 17, 2, 56)));
  CHECK(late.kind == PkiErrorKind::Expired);
  CHECK(late.subject == carol.subject());
  // Long before both: the end entity is reported, as the first on the path.
  PkiError both = refused(s.validate(carol, {}, utc_time(2020, 1, 1)));
  CHECK(both.kind == PkiErrorKind::NotYetValid);
  CHECK(both.subject == carol.subject());
}

TEST_CASE("pki: validity is judged at the given time, never the system clock", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"});
  Certificate moon = cert(kPki + "moonCert.pem");
  CHECK(s.validate(moon, {}, k2027).ok());
  PkiError before = refused(s.validate(moon, {}, utc_time(2025, 6, 1)));
  CHECK(before.kind == PkiErrorKind::NotYetValid);
  CHECK(before.subject == "C=CH, O=ikeme Test, CN=moon.ikeme.test");
  PkiError after = refused(s.validate(moon, {}, utc_time(2032, 1, 1)));
  CHECK(after.kind == PkiErrorKind::Expired);

  // Expired long ago (2022), whatever the system clock says.
  Certificate expired = cert(kPki + "expiredCert.pem");
  PkiError e = refused(s.validate(expired, {}, k2027));
  CHECK(e.kind == PkiErrorKind::Expired);
  CHECK(e.subject == "C=CH, O=ikeme Test, CN=expired.ikeme.test");
  CHECK(e.detail.find("not valid after 2022-01-01 00:00:00 UTC") != std::string::npos);
  CHECK(e.message().find("certificate \"C=CH, O=ikeme Test, CN=expired.ikeme.test\": expired") ==
        0);
  // ...and valid inside its period.
  CHECK(s.validate(expired, {}, utc_time(2021, 6, 1)).ok());
  // The root validated as itself: expired after 2045.
  CHECK(refused(s.validate(cert(kPki + "rootCa.pem"), {}, utc_time(2046, 1, 1))).kind ==
        PkiErrorKind::Expired);
}

TEST_CASE("pki: issuers and trust anchors must be valid at the given time too", "[pki]") {
  // longCert (2026..2044) outlives its issuer interCa (2020..2040).
  Certificate long_cert = cert(kPki + "longCert.pem");
  std::vector<Certificate> im;
  im.push_back(cert(kPki + "interCa.pem"));
  TrustStore root = store({kPki + "rootCa.pem"});
  CHECK(root.validate(long_cert, im, utc_time(2039, 12, 31)).ok());
  PkiError e = refused(root.validate(long_cert, im, utc_time(2041, 1, 1)));
  CHECK(e.kind == PkiErrorKind::Expired);
  CHECK(e.subject == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");
  CHECK(e.detail.find("2040-01-01 00:00:00 UTC") != std::string::npos);
  // The same CA as the trust anchor.
  TrustStore inter = store({kPki + "interCa.pem"});
  CHECK(inter.validate(long_cert, {}, utc_time(2039, 12, 31)).ok());
  PkiError a = refused(inter.validate(long_cert, {}, utc_time(2041, 1, 1)));
  CHECK(a.kind == PkiErrorKind::Expired);
  CHECK(a.subject == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");
}

TEST_CASE("pki: a certificate from another CA is refused", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"});
  Certificate stranger = cert(kPki + "strangerCert.pem");
  PkiError e = refused(s.validate(stranger, {}, k2027));
  CHECK(e.kind == PkiErrorKind::UnknownIssuer);
  CHECK(e.subject == "C=CH, O=ikeme Other, CN=moon.ikeme.test");
  CHECK(e.detail.find("ikeme Other Root CA") != std::string::npos);

  TrustStore other = store({kPki + "otherCa.pem"});
  CHECK(other.validate(stranger, {}, k2027).ok());
  CHECK(refused(other.validate(cert(kPki + "moonCert.pem"), {}, k2027)).kind ==
        PkiErrorKind::UnknownIssuer);
  CHECK(refused(TrustStore().validate(stranger, {}, k2027)).kind == PkiErrorKind::UnknownIssuer);

  // Issued by a CA with the trusted root's name but another key: the signature gives it away.
  PkiError rogue = refused(s.validate(cert(kPki + "rogueCert.pem"), {}, k2027));
  CHECK(rogue.kind == PkiErrorKind::BadSignature);
  CHECK(rogue.subject == "C=CH, O=ikeme Test, CN=rogue.ikeme.test");
  // Offering the rogue CA as an "intermediate" does not help: it is self-signed and untrusted.
  std::vector<Certificate> rogue_ca;
  rogue_ca.push_back(cert(kPki + "rogueCa.pem"));
  CHECK_FALSE(s.validate(cert(kPki + "rogueCert.pem"), rogue_ca, k2027).ok());
  // A self-signed end entity that is not trusted.
  CHECK(refused(other.validate(cert(kPki + "rootCa.pem"), {}, k2027)).kind ==
        PkiErrorKind::UnknownIssuer);
}

TEST_CASE("pki: chains through intermediates", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"});
  Certificate sun = cert(kPki + "sunCert.pem");
  std::vector<Certificate> im;
  im.push_back(cert(kPki + "moonCert.pem"));  // unrelated, ignored
  im.push_back(cert(kPki + "interCa.pem"));
  auto r = s.validate(sun, im, k2027);
  INFO((r ? "" : r.error().message()));
  REQUIRE(r.ok());
  REQUIRE(r->path.size() == 3);
  CHECK(r->path[0].subject == "C=CH, O=ikeme Test, OU=Intermediate, CN=sun.ikeme.test");
  CHECK(r->path[1].source == ChainElement::Source::Intermediate);
  CHECK(r->path[1].index == 1);
  CHECK(r->path[1].subject == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");
  CHECK(r->path[2].source == ChainElement::Source::TrustAnchor);
  CHECK(r->path[2].index == 0);

  // Without the intermediate the issuer is unknown.
  PkiError e = refused(s.validate(sun, {}, k2027));
  CHECK(e.kind == PkiErrorKind::UnknownIssuer);
  CHECK(e.subject == sun.subject());
  CHECK(e.detail.find("ikeme Test Intermediate CA") != std::string::npos);

  // The intermediate as a trust anchor is enough on its own.
  TrustStore inter_only = store({kPki + "interCa.pem"});
  auto direct = inter_only.validate(sun, {}, k2027);
  REQUIRE(direct.ok());
  CHECK(direct->path.size() == 2);
}

TEST_CASE("pki: issuers must be CAs within their path length, end entities may sign", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"});
  Certificate under = cert(kPki + "underCert.pem");
  std::vector<Certificate> good;
  good.push_back(cert(kPki + "fakeCa.pem"));
  CHECK(s.validate(under, good, k2027).ok());
  // Same subject and key as fakeCa, but without CA:TRUE.
  std::vector<Certificate> not_ca;
  not_ca.push_back(cert(kPki + "fakeCaNotCa.pem"));
  PkiError e = refused(s.validate(under, not_ca, k2027));
  CHECK(e.kind == PkiErrorKind::NotCa);
  CHECK(e.subject == "C=CH, O=ikeme Test, CN=under.ikeme.test");
  CHECK(e.detail.find("ikeme Fake Sub CA") != std::string::npos);

  // interCa has pathLenConstraint 0, yet issued subCa, which issued deepCert.
  std::vector<Certificate> deep_chain;
  deep_chain.push_back(cert(kPki + "subCa.pem"));
  deep_chain.push_back(cert(kPki + "interCa.pem"));
  PkiError p = refused(s.validate(cert(kPki + "deepCert.pem"), deep_chain, k2027));
  CHECK(p.kind == PkiErrorKind::PathLength);
  CHECK(p.subject == "C=CH, O=ikeme Test, CN=ikeme Test Intermediate CA");

  // keyUsage without digitalSignature (only cRLSign): not for IKE authentication.
  PkiError ku = refused(s.validate(cert(kPki + "keyUsageCert.pem"), {}, k2027));
  CHECK(ku.kind == PkiErrorKind::KeyUsage);
  CHECK(ku.subject == "C=CH, O=ikeme Test, CN=keyusage.ikeme.test");

  // Only CAs can be trust anchors.
  TrustStore t;
  auto added = t.add_ca(cert(kPki + "moonCert.pem"));
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().kind == PkiErrorKind::NotCa);
  CHECK(t.add_ca(cert(kPki + "rootCa.pem")).ok());
  CHECK(t.add_ca(cert(kPki + "rootCa.der")).ok());  // the same certificate again: kept once
  CHECK(t.cas().size() == 1);
}

// --- revocation ----------------------------------------------------------------------------------

TEST_CASE("pki: a revoked certificate is refused via its issuer's CRL", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"}, {kPki + "rootCrl.pem"});
  Certificate revoked = cert(kPki + "revokedCert.pem");
  PkiError e = refused(s.validate(revoked, {}, k2027));
  CHECK(e.kind == PkiErrorKind::Revoked);
  CHECK(e.subject == "C=CH, O=ikeme Test, CN=revoked.ikeme.test");
  CHECK(e.detail.find("revoked on 2026-02-01 00:00:00 UTC (key compromise)") != std::string::npos);
  // Still revoked once the CRL is stale (nextUpdate 2028-01-01).
  CHECK(refused(s.validate(revoked, {}, utc_time(2029, 1, 1))).kind == PkiErrorKind::Revoked);
  // A CRL from the future (thisUpdate 2026-01-01) says nothing about 2025... when the
  // certificate is not valid yet anyway.
  CHECK(refused(s.validate(revoked, {}, utc_time(2025, 12, 31))).kind == PkiErrorKind::NotYetValid);
  // Without the CRL the same certificate passes, with unknown status.
  TrustStore no_crl = store({kPki + "rootCa.pem"});
  auto ok = no_crl.validate(revoked, {}, k2027);
  REQUIRE(ok.ok());
  CHECK(ok->path[0].revocation == RevocationStatus::Unknown);
}

TEST_CASE("pki: CRL freshness and the strict policy", "[pki]") {
  TrustStore s = store({kPki + "rootCa.pem"}, {kPki + "rootCrl.der", kPki + "interCrl.pem"});
  Certificate moon = cert(kPki + "moonCert.pem");
  auto fresh = s.validate(moon, {}, k2027);
  REQUIRE(fresh.ok());
  CHECK(fresh->path[0].revocation == RevocationStatus::Good);
  CHECK(fresh->anchor().revocation == RevocationStatus::Good);
  auto stale = s.validate(moon, {}, utc_time(2029, 1, 1));
  REQUIRE(stale.ok());
  CHECK(stale->path[0].revocation == RevocationStatus::Stale);

  std::vector<Certificate> im;
  im.push_back(cert(kPki + "interCa.pem"));
  auto sun = s.validate(cert(kPki + "sunCert.pem"), im, k2027);
  REQUIRE(sun.ok());
  CHECK(sun->path[0].revocation == RevocationStatus::Good);  // interCrl
  CHECK(sun->path[1].revocation == RevocationStatus::Good);  // rootCrl

  s.set_revocation_policy(RevocationPolicy::Strict);
  CHECK(s.validate(moon, {}, k2027).ok());
  PkiError e = refused(s.validate(moon, {}, utc_time(2029, 1, 1)));
  CHECK(e.kind == PkiErrorKind::RevocationUnavailable);
  CHECK(e.subject == moon.subject());
  TrustStore strict_no_crl = store({kPki + "rootCa.pem"});
  strict_no_crl.set_revocation_policy(RevocationPolicy::Strict);
  CHECK(refused(strict_no_crl.validate(moon, {}, k2027)).kind ==
        PkiErrorKind::RevocationUnavailable);
}

TEST_CASE("pki: a CRL not signed by the issuer is ignored or refused", "[pki]") {
  // rogueCrl claims to come from the root (same name) and to revoke moon (serial 03).
  TrustStore s = store({kPki + "rootCa.pem"});
  auto added = s.add_crl(crl(kPki + "rogueCrl.pem"));
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().kind == PkiErrorKind::BadSignature);
  // Loaded before the CA (so not checked on loading): validation still ignores it.
  TrustStore t;
  REQUIRE(t.add_crl(crl(kPki + "rogueCrl.pem")).ok());
  REQUIRE(t.add_ca(cert(kPki + "rootCa.pem")).ok());
  auto r = t.validate(cert(kPki + "moonCert.pem"), {}, k2027);
  REQUIRE(r.ok());
  CHECK(r->path[0].revocation == RevocationStatus::Unknown);
}

// --- identity matching --------------------------------------------------------------------------

TEST_CASE("pki: identities match subjectAltNames by type", "[pki]") {
  Certificate moon = cert(kPki + "moonCert.pem");
  CHECK(certificate_matches_identity(moon, id("moon.ikeme.test")));
  CHECK(certificate_matches_identity(moon, id("@MOON.ikeme.TEST")));  // DNS is case-insensitive
  CHECK(certificate_matches_identity(moon, id("moon@ikeme.test")));
  CHECK(certificate_matches_identity(moon, id("192.0.2.1")));
  CHECK(certificate_matches_identity(moon, id("2001:db8::1")));
  CHECK_FALSE(certificate_matches_identity(moon, id("sun.ikeme.test")));
  CHECK_FALSE(certificate_matches_identity(moon, id("sun@ikeme.test")));
  CHECK_FALSE(certificate_matches_identity(moon, id("192.0.2.2")));
  CHECK_FALSE(certificate_matches_identity(moon, id("2001:db8::2")));
  // The type matters: the e-mail address as an FQDN, the DNS name as an e-mail address.
  CHECK_FALSE(certificate_matches_identity(moon, id("@moon@ikeme.test")));
  CHECK_FALSE(certificate_matches_identity(
      moon, Identity(IdType::ID_RFC822_ADDR, Bytes{'m', 'o', 'o', 'n', '.'})));
  CHECK_FALSE(certificate_matches_identity(moon, Identity::any()));
  // An IPv4 address's bytes under the IPv6 type do not match.
  CHECK_FALSE(certificate_matches_identity(moon, Identity(IdType::ID_IPV6_ADDR, {192, 0, 2, 1})));
}

TEST_CASE("pki: the CN is not an FQDN identity (strongSwan behaviour)", "[pki]") {
  Certificate cn_only = cert(kPki + "cnOnlyCert.pem");
  CHECK_FALSE(certificate_matches_identity(cn_only, id("cnonly.ikeme.test")));
  // ...but the whole subject DN is.
  CHECK(certificate_matches_identity(
      cn_only, Identity(IdType::ID_DER_ASN1_DN, bytes(cn_only.subject_der()))));
}

TEST_CASE("pki: DER_ASN1_DN identities match the subject exactly or canonically", "[pki]") {
  Certificate moon = cert(kPki + "moonCert.pem");
  Bytes dn = bytes(moon.subject_der());
  CHECK(certificate_matches_identity(moon, Identity(IdType::ID_DER_ASN1_DN, dn)));
  // The same name with the CN in other letter case: equal after canonical comparison.
  Bytes upper = dn;
  auto it =
      std::search(upper.begin(), upper.end(), std::begin("moon.ikeme"), std::end("moon.ikeme") - 1);
  REQUIRE(it != upper.end());
  std::transform(it, it + 4, it, [](uint8_t c) { return static_cast<uint8_t>(c - 32); });
  CHECK(upper != dn);
  CHECK(der::names_equal(upper, dn));
  CHECK(certificate_matches_identity(moon, Identity(IdType::ID_DER_ASN1_DN, upper)));
  // Another name, a truncated name, and the issuer's name do not match.
  Bytes other = dn;
  other[other.size() - 1] ^= 1;
  CHECK_FALSE(certificate_matches_identity(moon, Identity(IdType::ID_DER_ASN1_DN, other)));
  Bytes truncated(dn.begin(), dn.end() - 3);
  CHECK_FALSE(certificate_matches_identity(moon, Identity(IdType::ID_DER_ASN1_DN, truncated)));
  CHECK_FALSE(certificate_matches_identity(
      moon, Identity(IdType::ID_DER_ASN1_DN, bytes(moon.issuer_der()))));
  // A reordered RDN sequence is another name.
  CHECK_FALSE(der::names_equal(cert(kPki + "rootCa.pem").subject_der(),
                               cert(kPki + "otherCa.pem").subject_der()));
}

TEST_CASE("pki: KEY_ID identities match key and certificate hashes", "[pki]") {
  Certificate root = cert(kPki + "rootCa.pem");
  CHECK(certificate_matches_identity(root,
                                     Identity(IdType::ID_KEY_ID, bytes(root.public_key_sha1()))));
  CHECK(certificate_matches_identity(
      root, Identity(IdType::ID_KEY_ID, bytes(root.public_key_info_sha1()))));
  CHECK(certificate_matches_identity(root,
                                     Identity(IdType::ID_KEY_ID, bytes(root.fingerprint_sha1()))));
  CHECK(certificate_matches_identity(
      root, *Identity::parse("@#80a53154a981a58b8fc99b3a4ea5076533ade786")));
  CHECK_FALSE(certificate_matches_identity(
      root, *Identity::parse("@#80a53154a981a58b8fc99b3a4ea5076533ade787")));
  // Not the serial number (strongSwan would match it; serials are unique only per CA).
  CHECK_FALSE(
      certificate_matches_identity(root, Identity(IdType::ID_KEY_ID, bytes(root.serial()))));
}

TEST_CASE("pki: the strongSwan certificates match the identities strongSwan used", "[pki]") {
  Certificate carol = cert(kSwan + "carolCert.pem");
  CHECK(certificate_matches_identity(carol, id("carol@strongswan.org")));
  CHECK_FALSE(certificate_matches_identity(carol, id("alice@strongswan.org")));
  CHECK(certificate_matches_identity(cert(kSwan + "aliceCert.pem"), id("alice@strongswan.org")));
  CHECK(certificate_matches_identity(cert(kSwan + "bobCert.pem"), id("bob@strongswan.org")));
}

// --- CERTREQ / CERT -----------------------------------------------------------------------------

TEST_CASE("pki: CERTREQ authority list equals what strongSwan sent in the capture", "[pki]") {
  TrustStore s = store({kSwan + "caCert.pem"});
  Bytes ours = certreq_authorities(s);
  // `pki --print` keyid of caCert = SHA-1 of its SubjectPublicKeyInfo.
  CHECK(ours == from_hex("d61b4b462a02095ded4312f1f5809dc16a25e0d5"));
  CertPayload payload = certreq_payload(s);
  CHECK(payload.encoding == CertEncoding::X509_SIGNATURE);

  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  ctl::DatagramDecoder decoder;
  int certreqs = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike) continue;
    if (x.message->header.exchange != ExchangeType::IKE_SA_INIT) continue;
    for (const auto& p : x.message->payloads) {
      if (p.type != PayloadType::CERTREQ) continue;
      const auto* body = p.as<CertPayload>();
      REQUIRE(body);
      INFO("frame " << d.frame);
      CHECK(x.message->header.response());
      CHECK(*body == payload);
      auto hashes = requested_authorities(std::span<const CertPayload>(body, 1));
      REQUIRE(hashes.size() == 1);
      CHECK(hashes[0] == s.cas()[0].public_key_info_sha1());
      ++certreqs;
    }
  }
  // carol's two registration responses and the direct connection's IKE_SA_INIT response.
  CHECK(certreqs == 3);
}

TEST_CASE("pki: CERT payloads of the capture are the strongSwan certificates and validate",
          "[pki][vectors]") {
  auto keys = ctl::load_ike_keys(kVectors + "ike-keys.csv");
  REQUIRE(keys.ok());
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  TrustStore s = store({kSwan + "caCert.pem"});
  std::vector<Certificate> known;
  for (const char* f : {"carolCert.pem", "aliceCert.pem", "bobCert.pem"})
    known.push_back(cert(kSwan + f));
  ctl::DatagramDecoder decoder(&*keys);
  int certs = 0, certreqs_in_auth = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike || !x.inner) continue;
    const IdPayload* id_payload = nullptr;
    for (const auto& p : *x.inner) {
      if (p.type == PayloadType::IDi || p.type == PayloadType::IDr) id_payload = p.as<IdPayload>();
      if (p.type == PayloadType::CERTREQ) {
        // strongSwan's IKE_AUTH requests repeat the CERTREQ for its CA.
        CHECK(p.as<CertPayload>()->data == certreq_authorities(s));
        ++certreqs_in_auth;
      }
      if (p.type != PayloadType::CERT) continue;
      const auto* body = p.as<CertPayload>();
      REQUIRE(body);
      CHECK(body->encoding == CertEncoding::X509_SIGNATURE);
      auto c = Certificate::from_der(body->data);
      REQUIRE(c.ok());
      INFO("frame " << d.frame << ": " << c->subject());
      CHECK(std::any_of(known.begin(), known.end(),
                        [&](const Certificate& k) { return body->data == bytes(k.der()); }));
      // Valid at the moment it was sent, against the CA, for the identity sent with it.
      TimePoint sent{std::chrono::seconds(d.time_ns / 1000000000)};
      auto r = s.validate(*c, {}, sent);
      INFO((r ? "" : r.error().message()));
      CHECK(r.ok());
      REQUIRE(id_payload);
      CHECK(certificate_matches_identity(*c, Identity::from_payload(*id_payload)));
      ++certs;
    }
  }
  CHECK(certs == 4);  // carol twice (mediation), alice and bob (direct connection)
  CHECK(certreqs_in_auth >= 2);
}

TEST_CASE("pki: which certificates to send for a received CERTREQ", "[pki]") {
  Certificate sun = cert(kPki + "sunCert.pem");
  Certificate moon = cert(kPki + "moonCert.pem");
  std::vector<Certificate> sun_chain;
  sun_chain.push_back(cert(kPki + "rootCa.pem"));
  sun_chain.push_back(cert(kPki + "interCa.pem"));
  std::vector<Certificate> moon_chain;
  moon_chain.push_back(cert(kPki + "rootCa.pem"));
  Sha1Digest root = sun_chain[0].public_key_info_sha1();
  Sha1Digest inter = sun_chain[1].public_key_info_sha1();
  Sha1Digest other = cert(kPki + "otherCa.pem").public_key_info_sha1();
  std::vector<OwnCertificate> own{{&sun, sun_chain}};

  // The peer trusts the root: sun and the intermediate, never the root itself.
  std::vector<Sha1Digest> req{root};
  CertSelection s = select_certificates(own, req, true);
  CHECK(s.authority_matched);
  REQUIRE(s.certs.size() == 2);
  CHECK(s.certs[0] == &sun);
  CHECK(s.certs[1] == &sun_chain[1]);
  // The peer trusts the intermediate: sun alone.
  req = {other, inter};
  s = select_certificates(own, req, true);
  CHECK(s.authority_matched);
  REQUIRE(s.certs.size() == 1);
  CHECK(s.certs[0] == &sun);
  // An empty or unknown authority list: the whole chain below the root.
  req = {other};
  s = select_certificates(own, req, true);
  CHECK_FALSE(s.authority_matched);
  CHECK(s.certs.size() == 2);
  s = select_certificates(own, {}, false);
  CHECK(s.certs.size() == 2);
  // send_cert policies.
  CHECK(select_certificates(own, {}, false, SendCertPolicy::IfAsked).certs.empty());
  CHECK(select_certificates(own, {}, true, SendCertPolicy::IfAsked).certs.size() == 2);
  CHECK(select_certificates(own, req, true, SendCertPolicy::Never).certs.empty());

  // Two certificates of ours: the one whose CA the peer asked for.
  std::vector<OwnCertificate> both{{&moon, moon_chain}, {&sun, sun_chain}};
  req = {inter};
  s = select_certificates(both, req, true);
  CHECK(s.chosen == 1);
  CHECK(s.certs == std::vector<const Certificate*>{&sun});
  req = {root};
  s = select_certificates(both, req, true);
  CHECK(s.chosen == 0);
  CHECK(s.certs == std::vector<const Certificate*>{&moon});
  req = {other};
  s = select_certificates(both, req, true);
  CHECK(s.chosen == 0);
  CHECK_FALSE(s.authority_matched);

  // Parsing authority lists: 20-byte hashes, other encodings skipped, duplicates once.
  Bytes two(root.begin(), root.end());
  two.insert(two.end(), inter.begin(), inter.end());
  CHECK(parse_certreq_authorities(two) == std::vector<Sha1Digest>{root, inter});
  Bytes partial = two;
  partial.resize(30);
  CHECK(parse_certreq_authorities(partial) == std::vector<Sha1Digest>{root});
  std::vector<CertPayload> certreqs{
      {CertEncoding::X509_SIGNATURE, two},
      {CertEncoding::HASH_URL_X509_CERT, Bytes(20, 7)},
      {CertEncoding::X509_SIGNATURE, Bytes(root.begin(), root.end())}};
  CHECK(requested_authorities(certreqs) == std::vector<Sha1Digest>{root, inter});
  // Our own CERTREQ for a store with the root and the intermediate.
  TrustStore t = store({kPki + "rootCa.pem", kPki + "interCa.pem"});
  CHECK(certreq_authorities(t) == two);
}
