#!/bin/sh
# Generates the test PKI used by tests/unit/pki_test.cpp ([pki]). It was run ONCE; the tests use
# the committed files and never run this script (its output differs on every run: fresh keys and
# ECDSA signatures). Needs strongSwan's `pki` (Debian package strongswan-pki).
#
#   tests/data/pki/make.sh            # regenerate everything in this folder
#
# Every date is fixed (UTC) so the tests can pick times inside and outside each validity period:
#
#   rootCa        ikeme Test Root CA, RSA 3072, self-signed      2020-01-01 .. 2045-01-01
#   interCa       Intermediate CA (ECDSA P-384, pathlen 0)       2020-01-01 .. 2040-01-01
#   moonCert      RSA 2048 end entity from rootCa                2026-01-01 .. 2031-01-01
#                 SANs: DNS moon.ikeme.test, email moon@ikeme.test, IP 192.0.2.1, 2001:db8::1
#   sunCert       ECDSA P-256 end entity from interCa            2026-01-01 .. 2031-01-01
#                 SANs: DNS sun.ikeme.test, email sun@ikeme.test, IP 192.0.2.2
#   revokedCert   from rootCa, serial 05, revoked 2026-02-01 (key compromise) in rootCrl
#   expiredCert   from rootCa                                    2021-01-01 .. 2022-01-01
#   keyUsageCert  from rootCa; keyUsage = cRLSign only (no digitalSignature)
#   cnOnlyCert    from rootCa; CN=cnonly.ikeme.test and no subjectAltName at all
#   longCert      from interCa, valid 2026-01-01 .. 2044-01-01: outlives interCa (2040), so
#                 after 2040 only the issuer is expired
#   otherCa       an unrelated root (ECDSA P-256); strangerCert from it claims moon.ikeme.test
#   rogueCa       same subject DN as rootCa, different key; rogueCert from it (bad signature
#                 against the real root) and rogueCrl (claims to revoke moon, must be ignored)
#   fakeCa        a CA from rootCa; underCert is issued by it. fakeCaNotCa has fakeCa's subject
#                 and key but no CA basicConstraint (`pki` refuses to issue from a non-CA, so this
#                 is how a chain through a non-CA issuer is made)
#   subCa         a CA issued by interCa although interCa has pathlen 0; deepCert from subCa
#   rootCrl       by rootCa, thisUpdate 2026-01-01, nextUpdate 2028-01-01, revokes serial 05
#   interCrl      by interCa, empty,      thisUpdate 2026-01-01, nextUpdate 2028-01-01
#   *.der         DER copies of rootCa, moonCert and rootCrl (for the DER loaders)
#
# strongswan/ holds the public certificates of the strongSwan interop run, copied unchanged from
# shared/vectors/strongswan-p2p/pki/ (caCert, carolCert, aliceCert, bobCert); their validity is
# 2026-11-26 17:02:5x .. 2031-11-25 (CA: .. 2036-11-23).
set -eu
cd "$(dirname "$0")"
export TZ=UTC

# `pki` loads every plugin; on hosts without a TPM the tpm plugin complains on stderr.
quiet() { "$@" 2>/tmp/ikeme-pki-make.err || { cat /tmp/ikeme-pki-make.err >&2; exit 1; }; }
DF="%Y-%m-%d %H:%M:%S"
O="C=CH, O=ikeme Test"

key() { quiet pki --gen --type "$2" --size "$3" --outform pem >"$1"; }
# issue OUT IN_KEY CA_CERT CA_KEY SERIAL FROM UNTIL DN [extra pki options...]
issue() {
  out=$1 in=$2 cacert=$3 cakey=$4 serial=$5 from=$6 until=$7 dn=$8
  shift 8
  quiet pki --issue --in "$in" --type priv --cacert "$cacert" --cakey "$cakey" --serial "$serial" \
    --not-before "$from" --not-after "$until" --dateform "$DF" --dn "$dn" "$@" --outform pem >"$out"
}
self() {
  out=$1 in=$2 serial=$3 from=$4 until=$5 dn=$6
  quiet pki --self --ca --in "$in" --serial "$serial" --not-before "$from" --not-after "$until" \
    --dateform "$DF" --dn "$dn" --outform pem >"$out"
}
der() { sed '1d;$d' "$1" | base64 -d >"$2"; }

key rootCaKey.pem rsa 3072
key interCaKey.pem ecdsa 384
key moonKey.pem rsa 2048
key sunKey.pem ecdsa 256
key testKey.pem ecdsa 256
key otherCaKey.pem ecdsa 256
key rogueCaKey.pem ecdsa 256
key fakeCaKey.pem ecdsa 256
key subCaKey.pem ecdsa 256

self rootCa.pem rootCaKey.pem 01 "2020-01-01 00:00:00" "2045-01-01 00:00:00" "$O, CN=ikeme Test Root CA"
issue interCa.pem interCaKey.pem rootCa.pem rootCaKey.pem 02 "2020-01-01 00:00:00" \
  "2040-01-01 00:00:00" "$O, CN=ikeme Test Intermediate CA" --ca --pathlen 0
issue moonCert.pem moonKey.pem rootCa.pem rootCaKey.pem 03 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=moon.ikeme.test" \
  --san moon.ikeme.test --san moon@ikeme.test --san 192.0.2.1 --san 2001:db8::1
issue sunCert.pem sunKey.pem interCa.pem interCaKey.pem 04 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, OU=Intermediate, CN=sun.ikeme.test" \
  --san sun.ikeme.test --san sun@ikeme.test --san 192.0.2.2
issue revokedCert.pem testKey.pem rootCa.pem rootCaKey.pem 05 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=revoked.ikeme.test" --san revoked.ikeme.test
issue expiredCert.pem testKey.pem rootCa.pem rootCaKey.pem 06 "2021-01-01 00:00:00" \
  "2022-01-01 00:00:00" "$O, CN=expired.ikeme.test" --san expired.ikeme.test
issue keyUsageCert.pem testKey.pem rootCa.pem rootCaKey.pem 07 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=keyusage.ikeme.test" --san keyusage.ikeme.test --flag crlSign
issue cnOnlyCert.pem testKey.pem rootCa.pem rootCaKey.pem 0e "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=cnonly.ikeme.test"
issue longCert.pem testKey.pem interCa.pem interCaKey.pem 0f "2026-01-01 00:00:00" \
  "2044-01-01 00:00:00" "$O, CN=long.ikeme.test" --san long.ikeme.test

self otherCa.pem otherCaKey.pem 01 "2020-01-01 00:00:00" "2045-01-01 00:00:00" \
  "C=CH, O=ikeme Other, CN=ikeme Other Root CA"
issue strangerCert.pem testKey.pem otherCa.pem otherCaKey.pem 02 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "C=CH, O=ikeme Other, CN=moon.ikeme.test" --san moon.ikeme.test

self rogueCa.pem rogueCaKey.pem 01 "2020-01-01 00:00:00" "2045-01-01 00:00:00" "$O, CN=ikeme Test Root CA"
issue rogueCert.pem testKey.pem rogueCa.pem rogueCaKey.pem 08 "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=rogue.ikeme.test" --san rogue.ikeme.test

issue fakeCa.pem fakeCaKey.pem rootCa.pem rootCaKey.pem 09 "2020-01-01 00:00:00" \
  "2040-01-01 00:00:00" "$O, CN=ikeme Fake Sub CA" --ca
issue fakeCaNotCa.pem fakeCaKey.pem rootCa.pem rootCaKey.pem 0a "2020-01-01 00:00:00" \
  "2040-01-01 00:00:00" "$O, CN=ikeme Fake Sub CA"
issue underCert.pem testKey.pem fakeCa.pem fakeCaKey.pem 0b "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=under.ikeme.test" --san under.ikeme.test

issue subCa.pem subCaKey.pem interCa.pem interCaKey.pem 0c "2020-01-01 00:00:00" \
  "2040-01-01 00:00:00" "$O, CN=ikeme Test Sub CA" --ca
issue deepCert.pem testKey.pem subCa.pem subCaKey.pem 0d "2026-01-01 00:00:00" \
  "2031-01-01 00:00:00" "$O, CN=deep.ikeme.test" --san deep.ikeme.test

# 1769904000 = 2026-02-01 00:00:00 UTC. pki wants --reason/--date before the --serial they apply to.
quiet pki --signcrl --cacert rootCa.pem --cakey rootCaKey.pem --reason key-compromise \
  --date 1769904000 --serial 05 --this-update "2026-01-01 00:00:00" \
  --next-update "2028-01-01 00:00:00" --dateform "$DF" --outform pem >rootCrl.pem
quiet pki --signcrl --cacert interCa.pem --cakey interCaKey.pem --this-update "2026-01-01 00:00:00" \
  --next-update "2028-01-01 00:00:00" --dateform "$DF" --outform pem >interCrl.pem
quiet pki --signcrl --cacert rogueCa.pem --cakey rogueCaKey.pem --date 1769904000 --serial 03 \
  --this-update "2026-01-01 00:00:00" --next-update "2028-01-01 00:00:00" --dateform "$DF" \
  --outform pem >rogueCrl.pem

der rootCa.pem rootCa.der
der moonCert.pem moonCert.der
der rootCrl.pem rootCrl.der

mkdir -p strongswan
for f in caCert carolCert aliceCert bobCert; do
  cp "${SHARED:-../../../../shared}/vectors/strongswan-p2p/pki/$f.pem" strongswan/$f.pem
  chmod 644 strongswan/$f.pem
done
rm -f /tmp/ikeme-pki-make.err

# moonKeyEnc.pem (config tests, passphrase "moon-pass"): moonKey.pem with legacy PEM encryption,
# made once with
#   openssl rsa -in moonKey.pem -aes256 -traditional -passout pass:moon-pass -out moonKeyEnc.pem

# Raw public keys (pubkeys tests): SubjectPublicKeyInfo PEM and DER, and a PKCS#1 RSAPublicKey.
openssl pkey -in moonKey.pem -pubout -out moonPub.pem
openssl rsa -in moonKey.pem -RSAPublicKey_out -out moonPubRsa.pem 2>/dev/null
openssl pkey -in sunKey.pem -pubout -outform DER -out sunPub.der
openssl pkey -in testKey.pem -pubout -out testPub.pem
