#include "esp-kernel/xfrm_probe.hpp"

#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/xfrm/sa.h>
#include <sys/socket.h>

#include <cstring>

namespace ikeme::esp {

Status<std::string> xfrm_esp_available() {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return Unexpected{std::string("nl_socket_alloc failed")};
  std::string failure;
  xfrmnl_sa* sa = nullptr;
  nl_addr* lo = nullptr;
  do {
    if (int err = nl_connect(sock, NETLINK_XFRM); err < 0) {
      failure = std::string("connecting to XFRM netlink: ") + nl_geterror(err);
      break;
    }
    const uint8_t loopback[4] = {127, 0, 0, 1};
    lo = nl_addr_build(AF_INET, loopback, 4);
    sa = xfrmnl_sa_alloc();
    if (!lo || !sa) {
      failure = "out of memory";
      break;
    }
    // The key is all zeros: the state never carries a packet (nothing points at it) and lives
    // only for the two netlink requests.
    char key[20] = {};
    xfrmnl_sa_set_daddr(sa, lo);
    xfrmnl_sa_set_saddr(sa, lo);
    xfrmnl_sa_set_family(sa, AF_INET);
    xfrmnl_sa_set_proto(sa, IPPROTO_ESP);
    xfrmnl_sa_set_spi(sa, 0x000001feu);  // below 256 is IANA reserved: no real SA uses it
    xfrmnl_sa_set_mode(sa, XFRM_MODE_TRANSPORT);
    xfrmnl_sa_set_reqid(sa, 0);
    xfrmnl_sa_set_aead_params(sa, "rfc4106(gcm(aes))", sizeof key * 8, 128, key);
    if (int err = xfrmnl_sa_add(sock, sa, NLM_F_CREATE | NLM_F_EXCL); err < 0) {
      failure = std::string("the kernel refused a test ESP state: ") + nl_geterror(err);
      break;
    }
    if (int err = xfrmnl_sa_delete(sock, sa, 0); err < 0)
      failure = std::string("deleting the test ESP state failed: ") + nl_geterror(err);
  } while (false);
  if (sa) xfrmnl_sa_put(sa);
  if (lo) nl_addr_put(lo);
  nl_socket_free(sock);
  if (!failure.empty()) return Unexpected{failure};
  return {};
}

}  // namespace ikeme::esp
