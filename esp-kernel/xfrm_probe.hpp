#pragma once
// Whether this kernel can carry ESP: the question esp_backend: auto asks.

#include <string>

#include "ike/codec/result.hpp"

namespace ikeme::esp {

// Tries to add an AES-GCM ESP state (transport mode, 127.0.0.1 -> 127.0.0.1, a reserved-looking
// SPI) through XFRM netlink and deletes it again at once. Fails with the kernel's reason, e.g.
// "Requested type not found" / "Protocol not supported" when the ESP modules are missing, or
// "Operation not permitted" without CAP_NET_ADMIN.
Status<std::string> xfrm_esp_available();

}  // namespace ikeme::esp
