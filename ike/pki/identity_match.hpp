#pragma once
// Whether a certificate vouches for an IKE identity (RFC 4945 §3.1, RFC 4301 §4.4.3.2), the way
// strongSwan's certificate_t::has_subject() decides it:
//   ID_FQDN         <-> a dNSName subjectAltName (case-insensitive)
//   ID_RFC822_ADDR  <-> an rfc822Name subjectAltName (case-insensitive)
//   ID_IPV4_ADDR / ID_IPV6_ADDR <-> an iPAddress subjectAltName of the same length, byte-equal
//   ID_DER_ASN1_DN  <-> the subject DN, or a directoryName subjectAltName: byte-equal DER or
//                       equal after canonical comparison (der::names_equal)
//   ID_KEY_ID       <-> SHA-1 of the certificate, the subjectKeyIdentifier, SHA-1 of the
//                       SubjectPublicKeyInfo or of the public key (strongSwan also accepts the
//                       serial number; not here: serials are only unique per CA and short)
// The subject's CN is never compared with an FQDN or RFC822 identity: strongSwan does not do it
// (its DN identity only matches DN identities; swanctl.conf(5): "the IKE identity must be
// contained in the certificate, either as subject or as subjectAltName"), and a CN is not a
// typed name. Wildcards are not expanded: the identity here is the one the peer sent, and
// wildcard policy belongs to the configured remote identity (Identity::matches).

#include "ike/pki/certificate.hpp"
#include "ike/sa/identity.hpp"

namespace ikeme::ike::pki {

// False for %any and for ID types a certificate cannot vouch for (ID_DER_ASN1_GN, unknown).
bool certificate_matches_identity(const Certificate& cert, const Identity& id);

}  // namespace ikeme::ike::pki
