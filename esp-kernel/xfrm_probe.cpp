#include "esp-kernel/xfrm_probe.hpp"

// Plain rtnetlink instead of libnl-xfrm: libnl folds the kernel's errno into its own generic
// codes ("Unspecific failure"), and the kernel's own reason is what the log line should say.
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ikeme::esp {
namespace {

constexpr uint32_t kProbeSpi =
    0x000001fe;  // IANA reserved range (< 256 is "local use"); never real

struct Request {
  nlmsghdr header;
  union {
    xfrm_usersa_info info;
    xfrm_usersa_id id;
  };
  alignas(4) unsigned char attrs[256];
};

// Sends one request and reads its acknowledgement: 0 or the kernel's errno.
int transact(int fd, Request& r, uint32_t seq) {
  r.header.nlmsg_seq = seq;
  if (::send(fd, &r, r.header.nlmsg_len, 0) < 0) return errno;
  alignas(nlmsghdr) unsigned char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return errno == EINTR ? 0 : errno;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      return -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
    }
  }
}

std::string reason(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

}  // namespace

Status<std::string> xfrm_esp_available() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
  if (fd < 0) return Unexpected{"cannot open an XFRM netlink socket: " + reason(errno)};
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  const uint32_t loopback = htonl(INADDR_LOOPBACK);
  Request add{};
  add.header.nlmsg_type = XFRM_MSG_NEWSA;
  add.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  xfrm_usersa_info& sa = add.info;
  sa.sel.family = AF_INET;
  std::memcpy(&sa.id.daddr, &loopback, 4);
  std::memcpy(&sa.saddr, &loopback, 4);
  sa.id.spi = htonl(kProbeSpi);
  sa.id.proto = IPPROTO_ESP;
  sa.family = AF_INET;
  sa.mode = XFRM_MODE_TRANSPORT;
  sa.lft.soft_byte_limit = sa.lft.hard_byte_limit = XFRM_INF;
  sa.lft.soft_packet_limit = sa.lft.hard_packet_limit = XFRM_INF;
  // AES-GCM with an all-zero key: the state carries no packet (no policy points at it) and
  // lives only between these two requests.
  const char* name = "rfc4106(gcm(aes))";
  const unsigned key_bytes = 20;  // 16-byte key + 4-byte salt
  auto* rta = reinterpret_cast<nlattr*>(add.attrs);
  rta->nla_type = XFRMA_ALG_AEAD;
  rta->nla_len = static_cast<uint16_t>(NLA_HDRLEN + sizeof(xfrm_algo_aead) + key_bytes);
  auto* aead = reinterpret_cast<xfrm_algo_aead*>(add.attrs + NLA_HDRLEN);
  std::strncpy(aead->alg_name, name, sizeof aead->alg_name - 1);
  aead->alg_key_len = key_bytes * 8;
  aead->alg_icv_len = 128;
  add.header.nlmsg_len =
      static_cast<uint32_t>(NLMSG_LENGTH(sizeof(xfrm_usersa_info)) + NLA_ALIGN(rta->nla_len));
  int err = transact(fd, add, 1);
  if (err != 0) {
    ::close(fd);
    return Unexpected{"the kernel refused a test ESP state: " + reason(err)};
  }
  Request del{};
  del.header.nlmsg_type = XFRM_MSG_DELSA;
  del.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  std::memcpy(&del.id.daddr, &loopback, 4);
  del.id.spi = htonl(kProbeSpi);
  del.id.family = AF_INET;
  del.id.proto = IPPROTO_ESP;
  del.header.nlmsg_len = NLMSG_LENGTH(sizeof(xfrm_usersa_id));
  err = transact(fd, del, 2);
  ::close(fd);
  if (err != 0) return Unexpected{"deleting the test ESP state failed: " + reason(err)};
  return {};
}

}  // namespace ikeme::esp
