#include "esp-kernel/xfrm/xfrm_kernel.hpp"

#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/cache.h>
#include <netlink/msg.h>

#include <array>
#include <cstring>
#include <vector>

namespace ikeme::esp::xfrm {
namespace {

constexpr uint64_t kInfinite = XFRM_INF;

// Lifetimes: a zero byte or packet limit would expire the SA with its first packet, so every
// limit we do not use is "infinite", like iproute2 and strongSwan set it.
XfrmLifetime make_lifetime(uint64_t soft_seconds, uint64_t hard_seconds) {
  XfrmLifetime lft(xfrmnl_ltime_cfg_alloc());
  if (!lft) return lft;
  xfrmnl_ltime_cfg_set_soft_bytelimit(lft.get(), kInfinite);
  xfrmnl_ltime_cfg_set_hard_bytelimit(lft.get(), kInfinite);
  xfrmnl_ltime_cfg_set_soft_packetlimit(lft.get(), kInfinite);
  xfrmnl_ltime_cfg_set_hard_packetlimit(lft.get(), kInfinite);
  xfrmnl_ltime_cfg_set_soft_addexpires(lft.get(), soft_seconds);
  xfrmnl_ltime_cfg_set_hard_addexpires(lft.get(), hard_seconds);
  xfrmnl_ltime_cfg_set_soft_useexpires(lft.get(), 0);
  xfrmnl_ltime_cfg_set_hard_useexpires(lft.get(), 0);
  return lft;
}

unsigned xfrm_mode(ike::ChildMode m) {
  return m == ike::ChildMode::Tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
}

std::string describe_sa(uint32_t spi, const IpAddress& dst) {
  char hex[16];
  snprintf(hex, sizeof hex, "%08x", spi);
  return std::string("SA ") + hex + " to " + dst.to_string();
}

// Collects the kernel's answer to one request: the errno and, with extended acks, its message
// ("Requested type not found"), which libnl 3.7 does not surface itself.
struct Ack {
  bool done = false;
  int error = 0;  // negative errno
  std::string message;
};

int on_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* ack = static_cast<Ack*>(arg);
  ack->done = true;
  ack->error = e->error;
  const auto* hdr =
      reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
  if (hdr->nlmsg_flags & NLM_F_ACK_TLVS) {
    // With NETLINK_CAP_ACK the TLVs follow the echoed header directly.
    size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
    const auto* base = reinterpret_cast<const char*>(hdr);
    while (offset + NLA_HDRLEN <= hdr->nlmsg_len) {
      const auto* a = reinterpret_cast<const nlattr*>(base + offset);
      if (a->nla_len < NLA_HDRLEN || offset + a->nla_len > hdr->nlmsg_len) break;
      if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
        ack->message.assign(base + offset + NLA_HDRLEN,
                            strnlen(base + offset + NLA_HDRLEN, a->nla_len - NLA_HDRLEN));
      }
      offset += NLA_ALIGN(a->nla_len);
    }
  }
  return NL_STOP;
}

int on_ack(nl_msg*, void* arg) {
  static_cast<Ack*>(arg)->done = true;
  return NL_STOP;
}

std::string describe_error(const Ack& ack) {
  std::string text = ack.message.empty() ? std::string() : ack.message + " (";
  text += std::strerror(-ack.error);
  if (!ack.message.empty()) text += ")";
  return text;
}

}  // namespace

Status<std::string> XfrmKernel::transact(nl_msg* raw) {
  std::unique_ptr<nl_msg, NlDeleter<nl_msg, nlmsg_free>> msg(raw);
  if (int err = nl_send_auto_complete(sock_.get(), msg.get()); err < 0) {
    return Unexpected("sending to the kernel: " + nl_error(err));
  }
  Ack ack;
  // nl_socket_get_cb takes a reference: hold it only for the clone.
  std::unique_ptr<nl_cb, NlDeleter<nl_cb, nl_cb_put>> base(nl_socket_get_cb(sock_.get()));
  std::unique_ptr<nl_cb, NlDeleter<nl_cb, nl_cb_put>> cb(nl_cb_clone(base.get()));
  if (!cb) return Unexpected(std::string("out of memory"));
  nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ack);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &ack);
  while (!ack.done) {
    if (int err = nl_recvmsgs(sock_.get(), cb.get()); err < 0 && !ack.done) {
      return Unexpected("reading the kernel's answer: " + nl_error(err));
    }
  }
  if (ack.error != 0) return Unexpected(describe_error(ack));
  return {};
}

XfrmSel make_selector(const Selector& s) {
  XfrmSel sel(xfrmnl_sel_alloc());
  if (!sel) return sel;
  NlAddr src = make_addr(s.source.prefix.address, s.source.prefix.length);
  NlAddr dst = make_addr(s.destination.prefix.address, s.destination.prefix.length);
  xfrmnl_sel_set_saddr(sel.get(), src.get());
  xfrmnl_sel_set_daddr(sel.get(), dst.get());
  xfrmnl_sel_set_prefixlen_s(sel.get(), s.source.prefix.length);
  xfrmnl_sel_set_prefixlen_d(sel.get(), s.destination.prefix.length);
  xfrmnl_sel_set_family(sel.get(), address_family(s.source.prefix.address));
  xfrmnl_sel_set_proto(sel.get(), s.protocol);
  xfrmnl_sel_set_sport(sel.get(), s.source.port.port);
  xfrmnl_sel_set_sportmask(sel.get(), s.source.port.mask);
  xfrmnl_sel_set_dport(sel.get(), s.destination.port.port);
  xfrmnl_sel_set_dportmask(sel.get(), s.destination.port.mask);
  return sel;
}

Result<XfrmKernel, std::string> XfrmKernel::open() {
  auto sock = connect_netlink(NETLINK_XFRM);
  if (!sock) return Unexpected(sock.error());
  // Extended acks carry the kernel's reason for a refusal; capped acks keep them short.
  const int on = 1, fd = nl_socket_get_fd(sock->get());
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  return XfrmKernel(std::move(*sock));
}

Status<std::string> XfrmKernel::add_sa(const SaSpec& spec) {
  const KernelAlgorithms& k = spec.algorithms;
  if (spec.encr_key.size() != k.encr_key_bytes || spec.integ_key.size() != k.integ_key_bytes) {
    return Unexpected(describe_sa(spec.spi, spec.destination) + ": key sizes " +
                      std::to_string(spec.encr_key.size()) + "/" +
                      std::to_string(spec.integ_key.size()) + " do not fit " + k.encr_name);
  }
  XfrmSa sa(xfrmnl_sa_alloc());
  NlAddr src = make_addr(spec.source), dst = make_addr(spec.destination);
  XfrmLifetime lft = make_lifetime(spec.soft_seconds, spec.hard_seconds);
  if (!sa || !src || !dst || !lft) return Unexpected(std::string("out of memory"));
  const int family = address_family(spec.destination);
  xfrmnl_sa_set_family(sa.get(), family);
  xfrmnl_sa_set_daddr(sa.get(), dst.get());
  xfrmnl_sa_set_saddr(sa.get(), src.get());
  xfrmnl_sa_set_spi(sa.get(), spec.spi);
  xfrmnl_sa_set_proto(sa.get(), IPPROTO_ESP);
  xfrmnl_sa_set_mode(sa.get(), xfrm_mode(spec.mode));
  xfrmnl_sa_set_reqid(sa.get(), spec.reqid);
  xfrmnl_sa_set_lifetime_cfg(sa.get(), lft.get());

  auto key = [](ByteView b) { return reinterpret_cast<const char*>(b.data()); };
  int err = 0;
  if (k.aead) {
    err = xfrmnl_sa_set_aead_params(sa.get(), k.encr_name.c_str(), k.encr_key_bytes * 8, k.icv_bits,
                                    key(spec.encr_key));
  } else {
    err = xfrmnl_sa_set_crypto_params(sa.get(), k.encr_name.c_str(), k.encr_key_bytes * 8,
                                      key(spec.encr_key));
    if (err == 0) {
      err = xfrmnl_sa_set_auth_params(sa.get(), k.integ_name.c_str(), k.integ_key_bytes * 8,
                                      k.integ_trunc_bits, key(spec.integ_key));
    }
  }
  if (err < 0) return Unexpected(std::string("cannot set the algorithms of ") + k.encr_name);

  std::vector<unsigned> bitmap;
  if (spec.esn || spec.replay_window > 32) {
    // The classic replay state holds 32 packets; ESN and larger windows need the ESN-style
    // state with its bitmap (the window is given there and must be 0 in the SA info). Without
    // the ESN flag the kernel keeps 32-bit sequence numbers with that bitmap.
    const unsigned window = spec.replay_window ? spec.replay_window : 1;
    bitmap.assign((window + 31) / 32, 0);
    xfrmnl_sa_set_replay_state_esn(sa.get(), 0, 0, 0, 0, window,
                                   static_cast<unsigned>(bitmap.size()), bitmap.data());
    if (spec.esn) xfrmnl_sa_set_flags(sa.get(), XFRM_STATE_ESN);
  } else {
    xfrmnl_sa_set_replay_window(sa.get(), spec.replay_window);
  }
  NlAddr oa = zero_addr(spec.destination.is_v4());
  if (spec.udp_encap) {
    xfrmnl_sa_set_encap_tmpl(sa.get(), UDP_ENCAP_ESPINUDP, spec.udp_encap->first,
                             spec.udp_encap->second, oa.get());
  }
  XfrmSel sel;
  if (spec.selector) {
    sel = make_selector(*spec.selector);
    xfrmnl_sa_set_sel(sa.get(), sel.get());
  }
  nl_msg* msg = nullptr;
  if ((err = xfrmnl_sa_build_add_request(sa.get(), 0, &msg)) < 0) {
    return Unexpected("building " + describe_sa(spec.spi, spec.destination) + ": " + nl_error(err));
  }
  if (auto st = transact(msg); !st) {
    return Unexpected("adding " + describe_sa(spec.spi, spec.destination) + " (" + k.encr_name +
                      ") failed: " + st.error());
  }
  return {};
}

Status<std::string> XfrmKernel::delete_sa(const IpAddress& destination, uint32_t spi) {
  XfrmSa sa(xfrmnl_sa_alloc());
  NlAddr dst = make_addr(destination);
  if (!sa || !dst) return Unexpected(std::string("out of memory"));
  xfrmnl_sa_set_daddr(sa.get(), dst.get());
  xfrmnl_sa_set_spi(sa.get(), spi);
  xfrmnl_sa_set_proto(sa.get(), IPPROTO_ESP);
  nl_msg* msg = nullptr;
  if (int err = xfrmnl_sa_build_delete_request(sa.get(), 0, &msg); err < 0) {
    return Unexpected("building the deletion of " + describe_sa(spi, destination) + ": " +
                      nl_error(err));
  }
  if (auto st = transact(msg); !st) {
    return Unexpected("deleting " + describe_sa(spi, destination) + " failed: " + st.error());
  }
  return {};
}

Status<std::string> XfrmKernel::add_policy(const PolicySpec& spec) {
  XfrmSp sp(xfrmnl_sp_alloc());
  XfrmSel sel = make_selector(spec.selector);
  XfrmLifetime lft = make_lifetime(0, 0);
  xfrmnl_user_tmpl* tmpl = xfrmnl_user_tmpl_alloc();  // owned by `sp` once added
  NlAddr tsrc = make_addr(spec.tmpl_source), tdst = make_addr(spec.tmpl_destination);
  if (!sp || !sel || !lft || !tmpl || !tsrc || !tdst) {
    if (tmpl) xfrmnl_user_tmpl_free(tmpl);
    return Unexpected(std::string("out of memory"));
  }
  xfrmnl_sp_set_sel(sp.get(), sel.get());
  xfrmnl_sp_set_lifetime_cfg(sp.get(), lft.get());
  xfrmnl_sp_set_dir(sp.get(), static_cast<unsigned>(spec.dir));
  xfrmnl_sp_set_priority(sp.get(), spec.priority);
  xfrmnl_sp_set_action(sp.get(), XFRM_POLICY_ALLOW);
  xfrmnl_sp_set_share(sp.get(), XFRM_SHARE_ANY);

  xfrmnl_user_tmpl_set_family(tmpl, address_family(spec.tmpl_destination));
  xfrmnl_user_tmpl_set_daddr(tmpl, tdst.get());
  xfrmnl_user_tmpl_set_saddr(tmpl, tsrc.get());
  xfrmnl_user_tmpl_set_proto(tmpl, IPPROTO_ESP);
  xfrmnl_user_tmpl_set_spi(tmpl, 0);
  xfrmnl_user_tmpl_set_reqid(tmpl, spec.reqid);
  xfrmnl_user_tmpl_set_mode(tmpl, xfrm_mode(spec.mode));
  xfrmnl_user_tmpl_set_share(tmpl, XFRM_SHARE_ANY);
  xfrmnl_user_tmpl_set_optional(tmpl, 0);
  // Any algorithm: the SA with this reqid decides.
  xfrmnl_user_tmpl_set_aalgos(tmpl, ~0u);
  xfrmnl_user_tmpl_set_ealgos(tmpl, ~0u);
  xfrmnl_user_tmpl_set_calgos(tmpl, ~0u);
  if (spec.bypass) {
    xfrmnl_user_tmpl_free(tmpl);
  } else {
    xfrmnl_sp_add_usertemplate(sp.get(), tmpl);
  }

  // UPDPOLICY: replaces a policy with the same selector (e.g. left by a crashed predecessor
  // whose reqid range differs) instead of failing.
  nl_msg* msg = nullptr;
  if (int err = xfrmnl_sp_build_update_request(sp.get(), NLM_F_CREATE, &msg); err < 0) {
    return Unexpected("building a policy: " + nl_error(err));
  }
  if (auto st = transact(msg); !st) return Unexpected("adding a policy failed: " + st.error());
  return {};
}

Status<std::string> XfrmKernel::delete_policy(const Selector& selector, PolicyDir dir) {
  XfrmSp sp(xfrmnl_sp_alloc());
  XfrmSel sel = make_selector(selector);
  if (!sp || !sel) return Unexpected(std::string("out of memory"));
  xfrmnl_sp_set_sel(sp.get(), sel.get());
  xfrmnl_sp_set_dir(sp.get(), static_cast<unsigned>(dir));
  nl_msg* msg = nullptr;
  if (int err = xfrmnl_sp_build_delete_request(sp.get(), 0, &msg); err < 0) {
    return Unexpected("building a policy deletion: " + nl_error(err));
  }
  if (auto st = transact(msg); !st) return Unexpected("deleting a policy failed: " + st.error());
  return {};
}

Result<SaUsage, std::string> XfrmKernel::sa_usage(const IpAddress& destination, uint32_t spi) {
  NlAddr dst = make_addr(destination);
  xfrmnl_sa* raw = nullptr;
  if (int err = xfrmnl_sa_get_kernel(sock_.get(), dst.get(), spi, IPPROTO_ESP, 0, 0, &raw);
      err < 0 || !raw) {
    return Unexpected("reading " + describe_sa(spi, destination) + " failed: " + nl_error(err));
  }
  XfrmSa sa(raw);
  SaUsage u;
  unsigned long long bytes = 0, packets = 0, add_time = 0, use_time = 0;
  if (xfrmnl_sa_get_curlifetime(sa.get(), &bytes, &packets, &add_time, &use_time) == 0) {
    u.bytes = bytes, u.packets = packets, u.use_time = use_time;
  }
  unsigned long long window = 0, replay = 0, integrity = 0;
  if (xfrmnl_sa_get_stats(sa.get(), &window, &replay, &integrity) == 0) {
    u.replay = replay, u.integrity_failed = integrity;
  }
  return u;
}

namespace {

// What a dump finds of ours. The dumps are parsed here rather than through libnl's caches: its
// policy parser leaks the addresses of every policy it reads (libnl 3.7).
struct Found {
  uint32_t first = 0, last = 0;
  std::vector<std::pair<uint32_t, uint8_t>> policies;  // index, direction
  std::vector<std::pair<IpAddress, uint32_t>> sas;     // destination, SPI
  bool in_range(uint32_t reqid) const { return reqid >= first && reqid <= last; }
};

IpAddress address_of(const xfrm_address_t& a, uint16_t family) {
  if (family == AF_INET6) {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &a.a6, 16);
    return IpAddress::v6(b);
  }
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &a.a4, 4);
  return IpAddress::v4(b);
}

int collect(nl_msg* msg, void* arg) {
  auto* found = static_cast<Found*>(arg);
  const nlmsghdr* h = nlmsg_hdr(msg);
  const size_t payload = h->nlmsg_len >= NLMSG_HDRLEN ? h->nlmsg_len - NLMSG_HDRLEN : 0;
  if (h->nlmsg_type == XFRM_MSG_NEWPOLICY && payload >= sizeof(xfrm_userpolicy_info)) {
    xfrm_userpolicy_info info;
    std::memcpy(&info, NLMSG_DATA(h), sizeof info);
    const nlattr* a =
        nlmsg_find_attr(const_cast<nlmsghdr*>(h), sizeof(xfrm_userpolicy_info), XFRMA_TMPL);
    const int n = a ? nla_len(a) / static_cast<int>(sizeof(xfrm_user_tmpl)) : 0;
    for (int i = 0; i < n; ++i) {
      xfrm_user_tmpl t;
      std::memcpy(&t, static_cast<const char*>(nla_data(a)) + i * sizeof t, sizeof t);
      if (found->in_range(t.reqid)) {
        found->policies.emplace_back(info.index, info.dir);
        break;
      }
    }
  } else if (h->nlmsg_type == XFRM_MSG_NEWSA && payload >= sizeof(xfrm_usersa_info)) {
    xfrm_usersa_info info;
    std::memcpy(&info, NLMSG_DATA(h), sizeof info);
    // SPI 0: a larval SA from an acquire, which cannot be deleted by SPI (it expires).
    if (found->in_range(info.reqid) && info.id.proto == IPPROTO_ESP && info.id.spi != 0) {
      found->sas.emplace_back(address_of(info.id.daddr, info.family), ntohl(info.id.spi));
    }
  }
  return NL_OK;
}

}  // namespace

Status<std::string> XfrmKernel::dump(int type, void* found) {
  if (int err = nl_send_simple(sock_.get(), type, NLM_F_DUMP, nullptr, 0); err < 0) {
    return Unexpected("requesting a dump: " + nl_error(err));
  }
  std::unique_ptr<nl_cb, NlDeleter<nl_cb, nl_cb_put>> base(nl_socket_get_cb(sock_.get()));
  std::unique_ptr<nl_cb, NlDeleter<nl_cb, nl_cb_put>> cb(nl_cb_clone(base.get()));
  if (!cb) return Unexpected(std::string("out of memory"));
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, collect, found);
  if (int err = nl_recvmsgs(sock_.get(), cb.get()); err < 0) {
    return Unexpected("reading a dump: " + nl_error(err));
  }
  return {};
}

Result<FlushCount, std::string> XfrmKernel::flush_reqids(uint32_t first, uint32_t last) {
  Found found;
  found.first = first, found.last = last;
  if (auto st = dump(XFRM_MSG_GETPOLICY, &found); !st) {
    return Unexpected("listing XFRM policies failed: " + st.error());
  }
  if (auto st = dump(XFRM_MSG_GETSA, &found); !st) {
    return Unexpected("listing XFRM SAs failed: " + st.error());
  }
  FlushCount count;
  for (const auto& [index, dir] : found.policies) {
    XfrmSp sp(xfrmnl_sp_alloc());
    if (!sp) return Unexpected(std::string("out of memory"));
    xfrmnl_sp_set_index(sp.get(), index);
    xfrmnl_sp_set_dir(sp.get(), dir);
    nl_msg* msg = nullptr;
    if (xfrmnl_sp_build_delete_request(sp.get(), 0, &msg) < 0) continue;
    if (transact(msg)) ++count.policies;
  }
  for (const auto& [destination, spi] : found.sas) {
    if (delete_sa(destination, spi)) ++count.sas;
  }
  return count;
}

}  // namespace ikeme::esp::xfrm
