#include "ike/sa/engine.hpp"

#include <mbedtls/sha256.h>
extern "C" {
#include <mbedtls/constant_time.h>  // mbedTLS 2.28 ships it without a C++ linkage guard
}

#include <algorithm>
#include <cassert>

#include "ike/codec/framing.hpp"
#include "ike/codec/summary.hpp"

namespace ikeme::ike {
namespace {

constexpr Duration kCookieSecretLifetime{120000};
constexpr Duration kRetryDelay{1000};          // before another keying attempt
constexpr unsigned kInvalidSpiPerSecond = 10;  // unprotected INVALID_IKE_SPI answers

}  // namespace

IkeEngine::IkeEngine(EngineConfig config, crypto::Rng& rng) : rng_(rng) {
  reload(std::move(config));
  cookie_secret_ = rng_.bytes(32);
}

IkeEngine::~IkeEngine() = default;

void IkeEngine::reload(EngineConfig config) {
  config_ = std::move(config);
  connections_.clear();
  for (const ConnectionConfig& c : config_.connections)
    connections_.push_back(std::make_shared<const ConnectionConfig>(c));
  pools_.configure(config_.pools);
  secret_index_ = SecretIndex(config_.ike_secrets);
  if (config_.ke_reuse_lifetime.count() > 0)
    ke_pool_ = std::make_unique<KeyExchangePool>(config_.ke_reuse_lifetime,
                                                 std::max(1u, config_.ke_reuse_max_uses));
  else
    ke_pool_.reset();
  schedule_all();  // the SAs' timers read timeouts from config_
}

SaContext IkeEngine::context() {
  return SaContext{&config_, &rng_,          &next_child_id_, &wall_clock_,
                   hooks_,   ke_pool_.get(), &secret_index_,  &pools_};
}

size_t IkeEngine::half_open_count() const {
  return half_open_.size();
}

std::vector<std::shared_ptr<const ConnectionConfig>> IkeEngine::candidates(
    const Endpoint& local, const Endpoint& remote) const {
  std::vector<std::shared_ptr<const ConnectionConfig>> out;
  auto listed = [](const std::vector<IpAddress>& list, const IpAddress& a) {
    if (list.empty()) return true;
    for (const IpAddress& x : list)
      if (x == a) return true;
    return false;
  };
  for (const auto& c : connections_)
    if (listed(c->local_addrs, local.address) && listed(c->remote_addrs, remote.address))
      out.push_back(c);
  return out;
}

void IkeEngine::handle_datagram(Endpoint local, Endpoint remote, ByteView datagram, Timestamp now,
                                Actions& out) {
  ++stats_.datagrams_in;
  ByteView bytes = datagram;
  if (local.port != config_.port) {
    Framed f = classify_nat_t(datagram);
    if (f.kind != DatagramKind::Ike) return;  // ESP, keepalives: not for the IKE engine
    bytes = f.payload;
  }
  auto parsed = parse_message(bytes);
  if (!parsed) {
    ++stats_.malformed;
    out.log(Subsystem::ENC, 1, 0, "",
            "invalid IKE message from " + remote.to_string() +
                " dropped: " + parsed.error().to_string());
    // RFC 7296 §2.21.1: an unsupported major version is answered, unauthenticated, so the peer
    // can fall back; other malformed unauthenticated messages are dropped silently.
    if (parsed.error().answer == NotifyType::INVALID_MAJOR_VERSION) {
      auto h = ByteReader(bytes);
      uint64_t spi_i = 0, spi_r = 0;
      if (h.u64(spi_i) && h.u64(spi_r)) {
        Message m;
        m.header.spi_i = spi_i;
        m.header.spi_r = spi_r;
        m.header.flags = kFlagResponse;
        m.payloads = {make_notify(NotifyType::INVALID_MAJOR_VERSION)};
        if (auto wire = encode_message(m))
          out.sends.push_back(SendDatagram{
              local, remote, local.port == config_.port ? *wire : add_non_esp_marker(*wire)});
      }
    }
    return;
  }
  const Message& m = *parsed;
  const Header& h = m.header;
  if (h.spi_i == 0 && h.spi_r == 0) {
    out.log(Subsystem::NET, 2, 0, "",
            "connectivity check from " + remote.to_string() +
                " ignored: no mediated connection is pending");
    return;
  }
  out.log(Subsystem::NET, 2, 0, "",
          "received packet: from " + remote.to_string() + " to " + local.to_string() + " (" +
              std::to_string(datagram.size()) + " bytes)");
  // Only the SA this datagram reached can have changed (or the one it created), so only that
  // one is reaped, not every SA; INITIAL_CONTACT may end others, and then all are checked.
  std::optional<uint64_t> touched;
  bool all = false;
  if (h.exchange == ExchangeType::IKE_SA_INIT && !h.response() && h.initiator()) {
    touched = handle_init_request(local, remote, m, bytes, now, out);
  } else {
    // The original initiator sets the I flag; our SPI is the other one.
    uint64_t ours = h.initiator() ? h.spi_r : h.spi_i;
    auto it = sas_.find(ours);
    if (it == sas_.end()) {
      ++stats_.unknown_spi;
      out.log(Subsystem::IKE, 1, 0, "",
              name(h.exchange) + (h.response() ? " response" : " request") + " " +
                  std::to_string(h.message_id) + " for unknown IKE SA from " + remote.to_string() +
                  " dropped");
      if (!h.response()) answer_invalid_spi(local, remote, h, now, out);
      return;
    }
    touched = ours;
    all = handle_for_sa(*it->second, m, bytes, local, remote, now, out);
  }
  if (touched) schedule(*touched);
  if (all)
    reap(now, out);
  else
    reap_one(touched, now, out);
}

bool IkeEngine::handle_for_sa(IkeSa& sa, const Message& m, ByteView bytes, Endpoint local,
                              Endpoint remote, Timestamp now, Actions& out) {
  if (sa.keys_pending()) {
    // Its key exchange is still being computed (defer_key_exchange): handled when it is back.
    if (sa.defer_message(local, remote, bytes))
      out.log(Subsystem::IKE, 2, sa.id(), sa.connection_name(),
              name(m.header.exchange) + " from " + remote.to_string() +
                  " kept until the key exchange is computed");
    else
      out.log(Subsystem::IKE, 1, sa.id(), sa.connection_name(),
              name(m.header.exchange) + " from " + remote.to_string() +
                  " dropped: " + std::to_string(IkeSa::kMaxDeferredMessages) +
                  " messages already wait for the key exchange");
    return false;
  }
  bool was_established = sa.state() == IkeSa::State::Established;
  sa.handle(m, bytes, local, remote, now, out);
  if (was_established || sa.state() != IkeSa::State::Established) return false;
  ++stats_.ike_established;
  bool all = after_handle(sa, out);
  mediation_established(sa, now, out);
  return all;
}

void IkeEngine::complete_key_exchange(const KeyExchangeJob& job,
                                      Result<Bytes, crypto::CryptoError> shared, Timestamp now,
                                      Actions& out) {
  auto it = sas_.find(job.spi);
  if (it == sas_.end() || it->second->id() != job.sa_id || !it->second->keys_pending()) {
    // Deleted meanwhile (half-open timeout, shutdown): nothing waits for it.
    out.log(Subsystem::IKE, 2, job.sa_id, "",
            "key exchange of IKE_SA [" + std::to_string(job.sa_id) +
                "] computed for an SA that "
                "is gone, discarded");
    if (shared) std::fill(shared->begin(), shared->end(), 0);
    return;
  }
  IkeSa& sa = *it->second;
  bool all = false;
  for (IkeSa::DeferredMessage& d : sa.complete_key_exchange(std::move(shared), out)) {
    if (sa.dead()) break;
    auto parsed = parse_message(d.raw);
    if (!parsed) continue;  // it parsed when it arrived
    all = handle_for_sa(sa, *parsed, d.raw, d.local, d.remote, now, out) || all;
  }
  schedule(job.spi);
  if (all)
    reap(now, out);
  else
    reap_one(job.spi, now, out);
}

bool IkeEngine::after_handle(IkeSa& sa, Actions& out) {
  // RFC 7296 §2.4: INITIAL_CONTACT says the peer has no other SAs with us any more.
  if (!sa.take_initial_contact()) return false;
  for (auto& [spi, other] : sas_) {
    if (other.get() == &sa || other->dead() || other->state() != IkeSa::State::Established)
      continue;
    if (other->connection_name() != sa.connection_name() || !(other->remote_id() == sa.remote_id()))
      continue;
    other->destroy_silently(out, "peer '" + sa.remote_id().to_string() +
                                     "' sent INITIAL_CONTACT in IKE_SA [" +
                                     std::to_string(sa.id()) + "]");
  }
  return true;
}

void IkeEngine::answer_invalid_spi(Endpoint local, Endpoint remote, const Header& h, Timestamp now,
                                   Actions& out) {
  // RFC 7296 §2.21.4: an unprotected INVALID_IKE_SPI, rate limited so that we are no reflector.
  if (now - invalid_spi_window_ >= Duration(1000)) {
    invalid_spi_window_ = now;
    invalid_spi_sent_ = 0;
  }
  if (++invalid_spi_sent_ > kInvalidSpiPerSecond) return;
  Message reply;
  reply.header = h;
  reply.header.flags =
      static_cast<uint8_t>((h.flags & kFlagInitiator ? 0 : kFlagInitiator) | kFlagResponse);
  reply.header.exchange = ExchangeType::INFORMATIONAL;
  reply.payloads = {make_notify(NotifyType::INVALID_IKE_SPI)};
  if (auto wire = encode_message(reply))
    out.sends.push_back(SendDatagram{
        local, remote, local.port == config_.port ? *wire : add_non_esp_marker(*wire)});
}

std::optional<uint64_t> IkeEngine::handle_init_request(Endpoint local, Endpoint remote,
                                                       const Message& m, ByteView raw,
                                                       Timestamp now, Actions& out) {
  const Header& h = m.header;
  if (auto it = half_open_.find({h.spi_i, remote}); it != half_open_.end()) {
    // Only an exact retransmission gets the cached response; a different request reusing the
    // SPI (e.g. now carrying a cookie) is dropped rather than answered with a mismatching one.
    if (auto sa = sas_.find(it->second); sa != sas_.end()) {
      const Bytes& first = sa->second->init_request();
      if (first.size() == raw.size() && std::equal(first.begin(), first.end(), raw.begin())) {
        sa->second->resend_init_response(out);
        return sa->first;
      }
    }
    return std::nullopt;
  }
  if (h.spi_r != 0) {
    out.log(Subsystem::IKE, 1, 0, "", "IKE_SA_INIT request with a responder SPI dropped");
    return std::nullopt;
  }
  if (half_open_.size() >= config_.half_open_limit) {
    ++stats_.half_open_dropped;
    out.log(Subsystem::IKE, 1, 0, "",
            "dropping IKE_SA_INIT from " + remote.to_string() + ": " +
                std::to_string(half_open_.size()) + " half-open IKE SAs reach the limit");
    return std::nullopt;
  }
  if (half_open_.size() >= config_.cookie_threshold && !cookie_ok(m, remote)) {
    rotate_cookie_secret(now);
    ++stats_.cookies_sent;
    Message reply;
    reply.header.spi_i = h.spi_i;
    reply.header.exchange = ExchangeType::IKE_SA_INIT;
    reply.header.flags = kFlagResponse;
    reply.payloads = {make_notify(NotifyType::COOKIE, make_cookie(m, remote, cookie_version_))};
    out.log(Subsystem::IKE, 1, 0, "",
            "sending COOKIE to " + remote.to_string() + ": " + std::to_string(half_open_.size()) +
                " half-open IKE SAs reach the cookie threshold " +
                std::to_string(config_.cookie_threshold));
    if (auto wire = encode_message(reply))
      out.sends.push_back(SendDatagram{
          local, remote, local.port == config_.port ? *wire : add_non_esp_marker(*wire)});
    return std::nullopt;
  }
  if (!admit_mediated_init(m, local, remote, now, out)) return std::nullopt;
  auto cands = candidates(local, remote);
  if (cands.empty()) {
    out.log(Subsystem::CFG, 1, 0, "",
            "no connection configured for " + local.address.to_string() + "..." +
                remote.address.to_string() + ", answering NO_PROPOSAL_CHOSEN");
    Message reply;
    reply.header.spi_i = h.spi_i;
    reply.header.exchange = ExchangeType::IKE_SA_INIT;
    reply.header.flags = kFlagResponse;
    reply.payloads = {make_notify(NotifyType::NO_PROPOSAL_CHOSEN)};
    if (auto wire = encode_message(reply))
      out.sends.push_back(SendDatagram{
          local, remote, local.port == config_.port ? *wire : add_non_esp_marker(*wire)});
    return std::nullopt;
  }
  uint32_t id = next_sa_id_++;
  auto sa = IkeSa::respond(id, m, raw, local, remote, std::move(cands), context(), now, out);
  if (!sa) return std::nullopt;
  uint64_t spi = sa->our_spi();
  half_open_[{h.spi_i, remote}] = spi;
  half_open_of_[spi] = {h.spi_i, remote};
  sas_[spi] = std::move(sa);
  return spi;
}

Bytes IkeEngine::make_cookie(const Message& m, const Endpoint& remote, uint32_t version) const {
  // RFC 7296 §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
  const Bytes& secret = version == cookie_version_ ? cookie_secret_ : previous_cookie_secret_;
  Bytes in;
  ByteWriter w(in);
  if (const Payload* n = m.find(PayloadType::NONCE)) w.bytes(n->as<NoncePayload>()->data);
  w.bytes(remote.address.bytes());
  w.u64(m.header.spi_i);
  w.bytes(secret);
  Bytes cookie;
  ByteWriter c(cookie);
  c.u32(version);
  cookie.resize(4 + 32);
  mbedtls_sha256_ret(in.data(), in.size(), cookie.data() + 4, 0);
  return cookie;
}

bool IkeEngine::cookie_ok(const Message& m, const Endpoint& remote) const {
  if (m.payloads.empty()) return false;
  const auto* n = m.payloads.front().as<NotifyPayload>();  // COOKIE must come first
  if (!n || n->type != NotifyType::COOKIE || n->data.size() != 36) return false;
  uint32_t version =
      static_cast<uint32_t>(n->data[0]) << 24 | n->data[1] << 16 | n->data[2] << 8 | n->data[3];
  if (version != cookie_version_ &&
      (version + 1 != cookie_version_ || previous_cookie_secret_.empty()))
    return false;
  Bytes expected = make_cookie(m, remote, version);
  return mbedtls_ct_memcmp(expected.data(), n->data.data(), expected.size()) == 0;
}

void IkeEngine::rotate_cookie_secret(Timestamp now) {
  if (now - cookie_rotated_ < kCookieSecretLifetime) return;
  previous_cookie_secret_ = cookie_secret_;
  cookie_secret_ = rng_.bytes(32);
  ++cookie_version_;
  cookie_rotated_ = now;
}

Status<std::string> IkeEngine::initiate(const std::string& connection, const std::string& child,
                                        Timestamp now, Actions& out,
                                        std::optional<IpAddress> source) {
  auto found = find_connection(connection);
  if (!found) return Unexpected{found.error()};
  std::shared_ptr<const ConnectionConfig> conn = *found;
  if (conn->remote_addrs.empty())
    return Unexpected{"connection '" + connection + "' has no remote_addrs to initiate to"};
  if (conn->proposals.empty())
    return Unexpected{"connection '" + connection + "' has no proposals"};
  auto child_cfg = find_child(*conn, child);
  if (!child_cfg) return Unexpected{child_cfg.error()};
  Endpoint remote{conn->remote_addrs.front(), conn->remote_port};
  IpAddress local_addr = !conn->local_addrs.empty() ? conn->local_addrs.front()
                         : source                   ? *source
                         : remote.address.is_v4()   ? IpAddress()
                                                    : *IpAddress::parse("::");
  if (local_addr == IpAddress() || local_addr == *IpAddress::parse("::"))
    return Unexpected{"connection '" + connection +
                      "': no local address to initiate from (set local_addrs)"};
  // RFC 3948 / RFC 7296 §2.23: towards a port other than 500 we use the NAT-T port and marker.
  Endpoint local{local_addr, conn->remote_port == config_.port ? config_.port : config_.port_nat_t};
  // RFC 7296 §2.4: INITIAL_CONTACT only when this is our only IKE SA with the peer, or the peer
  // (strongSwan does this) deletes the others.
  bool only = true;
  for (const auto& [spi, other] : sas_)
    if (!other->dead() &&
        (other->connection_name() == conn->name || other->remote().address == remote.address)) {
      only = false;
      break;
    }
  uint32_t id = next_sa_id_++;
  auto started = adopt_initiated(
      IkeSa::initiate(id, conn, *child_cfg, local, remote, only, context(), now, out));
  if (!started) return Unexpected{started.error()};
  return {};
}

Result<std::shared_ptr<const ConnectionConfig>, std::string> IkeEngine::find_connection(
    const std::string& connection) const {
  std::shared_ptr<const ConnectionConfig> conn;
  for (const auto& c : connections_)
    if (c->name == connection) conn = c;
  if (!conn) return Unexpected{"no connection named '" + connection + "'"};
  return conn;
}

Result<const ChildConfig*, std::string> IkeEngine::find_child(const ConnectionConfig& conn,
                                                              const std::string& child) {
  for (const ChildConfig& c : conn.children)
    if (child.empty() || c.name == child) return &c;
  if (!child.empty())
    return Unexpected{"connection '" + conn.name + "' has no child '" + child + "'"};
  return static_cast<const ChildConfig*>(nullptr);  // no children: an IKE SA alone
}

Result<uint32_t, std::string> IkeEngine::adopt_initiated(std::unique_ptr<IkeSa> sa) {
  if (sa->dead()) {
    ++stats_.ike_failed;
    return Unexpected{std::string("IKE SA could not be started (see log)")};
  }
  const uint32_t id = sa->id();
  uint64_t spi = sa->our_spi();
  sas_[spi] = std::move(sa);
  schedule(spi);
  attempt_of_[id] = 1;
  return id;
}

Status<std::string> IkeEngine::terminate(const std::string& connection, uint32_t sa_id,
                                         Timestamp now, Actions& out) {
  bool found = false;
  if (!sa_id) {
    // A user's terminate also cancels retries and restarts of the connection.
    found = std::erase_if(pending_,
                          [&](const PendingInitiate& p) { return p.connection == connection; }) > 0;
  }
  for (auto& [spi, sa] : sas_) {
    if (sa_id ? sa->id() != sa_id : sa->connection_name() != connection) continue;
    found = true;
    sa->terminate(now, out);
    schedule(spi);
  }
  reap(now, out);
  if (!found)
    return Unexpected{sa_id ? "no IKE SA with id " + std::to_string(sa_id)
                            : "no IKE SA of connection '" + connection + "'"};
  return {};
}

void IkeEngine::terminate_all(Timestamp now, Actions& out) {
  for (auto& [spi, sa] : sas_) sa->terminate(now, out);
  schedule_all();
  reap(now, out);
  pending_.clear();
}

void IkeEngine::schedule(uint64_t spi) {
  if (auto d = deadline_of_.find(spi); d != deadline_of_.end()) {
    deadlines_.erase({d->second, spi});
    deadline_of_.erase(d);
  }
  auto it = sas_.find(spi);
  if (it == sas_.end()) return;
  if (auto t = it->second->next_timeout()) {
    deadlines_.emplace(*t, spi);
    deadline_of_.emplace(spi, *t);
  }
}

void IkeEngine::schedule_all() {
  deadlines_.clear();
  deadline_of_.clear();
  for (const auto& [spi, sa] : sas_)
    if (auto t = sa->next_timeout()) {
      deadlines_.emplace(*t, spi);
      deadline_of_.emplace(spi, *t);
    }
}

std::optional<Timestamp> IkeEngine::next_timeout() const {
  std::optional<Timestamp> t;
  for (const PendingInitiate& p : pending_) t = t ? std::min(*t, p.at) : p.at;
  if (!deadlines_.empty())
    t = t ? std::min(*t, deadlines_.begin()->first) : deadlines_.begin()->first;
#ifndef NDEBUG
  // The index must agree with the SAs themselves (debug and sanitizer builds check every call).
  std::optional<Timestamp> scan;
  for (const PendingInitiate& p : pending_) scan = scan ? std::min(*scan, p.at) : p.at;
  for (const auto& [spi, sa] : sas_)
    if (auto s = sa->next_timeout()) scan = scan ? std::min(*scan, *s) : *s;
  assert(scan == t);
#endif
  return t;
}

void IkeEngine::handle_timeout(Timestamp now, Actions& out) {
  // The due SAs, in SPI order (as a scan over sas_ would meet them).
  std::vector<uint64_t> due_sas;
  for (auto d = deadlines_.begin(); d != deadlines_.end() && d->first <= now; ++d)
    due_sas.push_back(d->second);
  std::sort(due_sas.begin(), due_sas.end());
  for (uint64_t spi : due_sas) {
    auto it = sas_.find(spi);
    if (it == sas_.end()) continue;
    auto t = it->second->next_timeout();
    if (t && *t <= now) it->second->handle_timeout(now, out);
    schedule(spi);
  }
  std::vector<PendingInitiate> due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->at <= now) {
      due.push_back(*it);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (const PendingInitiate& p : due) {
    uint32_t id = next_sa_id_;
    auto st = initiate(p.connection, p.child, now, out, p.source);
    if (!st) {
      out.log(Subsystem::CFG, 0, 0, p.connection, "re-initiating failed: " + st.error());
      continue;
    }
    ++stats_.retries;
    attempt_of_[id] = p.attempt;
  }
  reap(now, out);
}

void IkeEngine::count_children(const Actions& out) {
  for (const auto& c : out.children)
    if (c.kind == ChildSaEvent::Kind::Installed) ++stats_.children_installed;
}

void IkeEngine::reap(Timestamp now, Actions& out) {
  count_children(out);
  for (auto it = sas_.begin(); it != sas_.end();) it = reap_sa(it, now, out);
}

void IkeEngine::reap_one(std::optional<uint64_t> spi, Timestamp now, Actions& out) {
  count_children(out);
  if (!spi) return;
  if (auto it = sas_.find(*spi); it != sas_.end()) reap_sa(it, now, out);
}

IkeEngine::SaMap::iterator IkeEngine::reap_sa(SaMap::iterator it, Timestamp now, Actions& out) {
  IkeSa& sa = *it->second;
  if (sa.dead() || sa.state() != IkeSa::State::Connecting) {
    if (auto h = half_open_of_.find(it->first); h != half_open_of_.end()) {
      half_open_.erase(h->second);
      half_open_of_.erase(h);
    }
  }
  if (!sa.dead()) return std::next(it);
  unsigned attempt = attempt_of_.count(sa.id()) ? attempt_of_[sa.id()] : 1;
  attempt_of_.erase(sa.id());
  if (sa.failed()) ++stats_.ike_failed;
  sa.release_virtual_ips(out);
  auto conn = sa.connection();
  if (sa.failed() && sa.initiator() && conn && !sa.was_established()) {
    // keyingtries: 0 = forever, 1 = no retry.
    if (conn->keyingtries == 0 || attempt < conn->keyingtries) {
      out.log(
          Subsystem::IKE, 0, sa.id(), conn->name,
          "scheduling keying attempt " + std::to_string(attempt + 1) + " of " +
              (conn->keyingtries ? std::to_string(conn->keyingtries) : std::string("%forever")));
      pending_.push_back(PendingInitiate{conn->name, sa.child_name(), now + kRetryDelay,
                                         attempt + 1, sa.local().address});
    } else if (conn->keyingtries > 1) {
      out.log(Subsystem::IKE, 0, sa.id(), conn->name,
              "giving up after " + std::to_string(attempt) + " keying attempts");
    }
  } else if (sa.failed() && sa.was_established() && conn && !conn->remote_addrs.empty()) {
    // The peer went away (liveness check or retransmits failed): dpd_action.
    for (const ChildConfig& c : conn->children) {
      if (c.dpd_action != DpdAction::Restart) continue;
      out.log(Subsystem::IKE, 0, sa.id(), conn->name,
              "restarting CHILD_SA " + c.name + " after the peer was lost (dpd_action=restart)");
      pending_.push_back(PendingInitiate{conn->name, c.name, now, 1, sa.local().address});
      break;  // one IKE SA carries the restart
    }
  }
  if (auto d = deadline_of_.find(it->first); d != deadline_of_.end()) {
    deadlines_.erase({d->second, it->first});
    deadline_of_.erase(d);
  }
  if (hooks_) hooks_->on_sa_removed(sa, now, out);
  return sas_.erase(it);
}

std::vector<IkeSaInfo> IkeEngine::list_sas() const {
  std::vector<IkeSaInfo> out;
  for (const auto& [spi, sa] : sas_) out.push_back(sa->info());
  return out;
}

}  // namespace ikeme::ike
