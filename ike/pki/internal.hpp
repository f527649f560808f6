#pragma once
// Helpers shared by the ike/pki sources; not part of the module's interface.

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>

#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/pki_error.hpp"

namespace ikeme::ike::pki::detail {

TimePoint to_time_point(const mbedtls_x509_time& t);
std::string mbedtls_reason(int rc);
std::string dn_text(const mbedtls_x509_name& name);
Sha1Digest sha1(ByteView data);
// Verifies a signature over `tbs` (a certificate's or CRL's signed part) with `key`.
bool verify_signature(const mbedtls_x509_buf& tbs, mbedtls_md_type_t md, mbedtls_pk_type_t pk_type,
                      const void* options, const mbedtls_x509_buf& signature,
                      mbedtls_pk_context& key);

}  // namespace ikeme::ike::pki::detail
