#pragma once
// RAII owner of an mbedTLS big number. mbedtls_mpi_free zeroizes the limbs, so secrets held in
// one are wiped when it goes out of scope.

#include <mbedtls/bignum.h>

namespace ikeme::ike::crypto {

struct Mpi {
  mbedtls_mpi m;
  Mpi() { mbedtls_mpi_init(&m); }
  ~Mpi() { mbedtls_mpi_free(&m); }
  Mpi(const Mpi&) = delete;
  Mpi& operator=(const Mpi&) = delete;
};

}  // namespace ikeme::ike::crypto
