#!/bin/sh
# Generates the PKI of the certificate interop test (tests/interop/ikeme_charon_cert.sh). Run once;
# the test uses the committed files (RSA-4096 keys take seconds each to generate, too slow for a
# test that must stay well under 90 s). Test material only: the private keys are public.
# Needs strongSwan's `pki` (Debian package strongswan-pki).
#
#   tests/data/pki/interop/make.sh
#
# Dates are fixed (UTC): everything is valid 2026-01-01 .. 2046-01-01 except carolExpired.
#
#   caCert          ikeme Interop Root CA, RSA 3072, self-signed
#   moonCert        RSA 2048, SANs moon.ikeme.test and 192.168.0.1 (the gateway)
#   carolCert       RSA 2048, SAN carol@ikeme.test (the road warrior)
#   daveCert        RSA 2048, SAN dave@ikeme.test
#   carolRevoked    RSA 2048, SAN carol@ikeme.test, serial 0x20, revoked in caCrl (key compromise)
#   carolExpired    RSA 2048, SAN carol@ikeme.test, valid 2020-01-01 .. 2021-01-01 only
#   carolMismatch   RSA 2048, SAN eve@ikeme.test and CN=eve.ikeme.test: does not vouch for carol
#   ecCaCert        ikeme Interop ECDSA CA, ECDSA P-384, self-signed
#   moonEcCert      ECDSA P-256 from ecCa, SANs moon.ikeme.test and 192.168.0.1
#   carolEcCert     ECDSA P-384 from ecCa, SAN carol@ikeme.test
#   longCaCert      ikeme Interop Long Root CA, RSA 4096, self-signed
#   long1/2/3Cert   three intermediate CAs below it, each RSA 4096
#   moonLongCert, carolLongCert   RSA 4096 end entities from long3: a chain of 4 certificates
#                   (EE + 3 intermediates, ~6.5 kB of CERT payloads) that needs fragmentation
#   caCrl           by caCert, revokes serial 0x20, nextUpdate 2046-01-01
#   *Key.pem        the private keys (PKCS#1 / SEC1 PEM)
set -eu
cd "$(dirname "$0")"
export TZ=UTC
quiet() { "$@" 2>/tmp/ikeme-pki-interop.err || { cat /tmp/ikeme-pki-interop.err >&2; exit 1; }; }
DF="%Y-%m-%d %H:%M:%S"
O="C=CH, O=ikeme Interop"
FROM="2026-01-01 00:00:00"
UNTIL="2046-01-01 00:00:00"

key() { quiet pki --gen --type "$2" --size "$3" --outform pem >"$1"; }
self() { quiet pki --self --ca --in "$1" --serial 01 --not-before "$FROM" --not-after "$UNTIL" \
  --dateform "$DF" --dn "$3" --outform pem >"$2"; }
# issue OUT KEY CA_CERT CA_KEY SERIAL DN [pki options]
issue() {
  out=$1 in=$2 cacert=$3 cakey=$4 serial=$5 dn=$6
  shift 6
  quiet pki --issue --in "$in" --type priv --cacert "$cacert" --cakey "$cakey" --serial "$serial" \
    --not-before "${NB:-$FROM}" --not-after "${NA:-$UNTIL}" --dateform "$DF" --dn "$dn" "$@" \
    --outform pem >"$out"
}

key caKey.pem rsa 3072
key moonKey.pem rsa 2048
key carolKey.pem rsa 2048
key daveKey.pem rsa 2048
self caKey.pem caCert.pem "$O, CN=ikeme Interop Root CA"
issue moonCert.pem moonKey.pem caCert.pem caKey.pem 10 "$O, CN=moon.ikeme.test" \
  --san moon.ikeme.test --san 192.168.0.1
issue carolCert.pem carolKey.pem caCert.pem caKey.pem 11 "$O, CN=carol@ikeme.test" \
  --san carol@ikeme.test
issue daveCert.pem daveKey.pem caCert.pem caKey.pem 12 "$O, CN=dave@ikeme.test" \
  --san dave@ikeme.test
issue carolRevoked.pem carolKey.pem caCert.pem caKey.pem 20 "$O, OU=revoked, CN=carol@ikeme.test" \
  --san carol@ikeme.test
NB="2020-01-01 00:00:00" NA="2021-01-01 00:00:00" issue carolExpired.pem carolKey.pem caCert.pem \
  caKey.pem 21 "$O, OU=expired, CN=carol@ikeme.test" --san carol@ikeme.test
issue carolMismatch.pem carolKey.pem caCert.pem caKey.pem 22 "$O, CN=eve.ikeme.test" \
  --san eve@ikeme.test
# 1767225600 = 2026-01-01 00:00:00 UTC
quiet pki --signcrl --cacert caCert.pem --cakey caKey.pem --reason key-compromise \
  --date 1767225600 --serial 20 --this-update "$FROM" --next-update "$UNTIL" --dateform "$DF" \
  --outform pem >caCrl.pem

key ecCaKey.pem ecdsa 384
key moonEcKey.pem ecdsa 256
key carolEcKey.pem ecdsa 384
self ecCaKey.pem ecCaCert.pem "$O, CN=ikeme Interop ECDSA CA"
issue moonEcCert.pem moonEcKey.pem ecCaCert.pem ecCaKey.pem 10 "$O, CN=moon.ikeme.test" \
  --san moon.ikeme.test --san 192.168.0.1
issue carolEcCert.pem carolEcKey.pem ecCaCert.pem ecCaKey.pem 11 "$O, CN=carol@ikeme.test" \
  --san carol@ikeme.test

key longCaKey.pem rsa 4096
key long1Key.pem rsa 4096
key long2Key.pem rsa 4096
key long3Key.pem rsa 4096
key moonLongKey.pem rsa 4096
key carolLongKey.pem rsa 4096
self longCaKey.pem longCaCert.pem "$O, CN=ikeme Interop Long Root CA"
issue long1Cert.pem long1Key.pem longCaCert.pem longCaKey.pem 02 "$O, CN=ikeme Interop Long CA 1" --ca
issue long2Cert.pem long2Key.pem long1Cert.pem long1Key.pem 03 "$O, CN=ikeme Interop Long CA 2" --ca
issue long3Cert.pem long3Key.pem long2Cert.pem long2Key.pem 04 "$O, CN=ikeme Interop Long CA 3" --ca
issue moonLongCert.pem moonLongKey.pem long3Cert.pem long3Key.pem 10 "$O, CN=moon.ikeme.test" \
  --san moon.ikeme.test --san 192.168.0.1
issue carolLongCert.pem carolLongKey.pem long3Cert.pem long3Key.pem 11 "$O, CN=carol@ikeme.test" \
  --san carol@ikeme.test
# Raw public keys (the pubkeys case).
openssl pkey -in moonKey.pem -pubout -out moonPub.pem
openssl pkey -in carolEcKey.pem -pubout -out carolEcPub.pem
chmod 644 ./*.pem
rm -f /tmp/ikeme-pki-interop.err
