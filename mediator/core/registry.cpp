#include "mediator/core/registry.hpp"

#include <algorithm>

namespace ikeme::mediator {

using ike::Actions;
using ike::Payload;
using ike::Subsystem;
using ike::Timestamp;

namespace {

constexpr ike::Duration kSweepInterval{1000};  // relays and callbacks expire within a second
// How long a completed endpoint exchange may still be reported failed: longer than any peer's
// checks (ikeme gives up after its transaction timeout, 30 s by default; strongSwan's pairs fail
// after ~65 s). Bounded in number: each entry costs one accepted, rate-limited ME_CONNECT.
constexpr ike::Duration kTransactionMemory{120000};
constexpr size_t kMaxTransactions = 4096;

std::string pseudonym_of(const ike::IkeSa& sa) {
  return sa.remote_id().to_string();
}

bool is_registration(const ike::IkeSa& sa) {
  return !sa.initiator() && sa.connection() && sa.connection()->mediation;
}

}  // namespace

Registry::Registry(Directory directory, Limits limits)
    : directory_(std::move(directory)), limits_(limits) {}

void Registry::log(Actions& out, int level, std::string text, uint32_t sa) const {
  out.log(Subsystem::MED, level, sa, "", std::move(text));
}

std::vector<Payload> Registry::refuse(Refusal reason, const std::string& pseudonym,
                                      const std::string& why, Actions& out) {
  stats_.refuse(reason);
  log(out, 1,
      "ME_CONNECT from '" + pseudonym + "' refused (" + std::string(name(reason)) + "): " + why);
  if (reason == Refusal::InvalidSyntax) return {ike::make_notify(ike::NotifyType::INVALID_SYNTAX)};
  return {ike::make_notify(ike::NotifyType::ME_CONNECT_FAILED)};
}

void Registry::on_mediation_established(const ike::IkeSa& sa, Timestamp now, Actions& out) {
  const std::string p = pseudonym_of(sa);
  auto refuse_registration = [&](Refusal r, const std::string& why) {
    stats_.refuse(r);
    log(out, 0,
        "registration of '" + p + "' from " + sa.remote().to_string() + " refused (" +
            std::string(name(r)) + "): " + why);
    commands_.push_back(Command{Command::Kind::Terminate, sa.our_spi(), {}, p});
  };
  if (!directory_.contains(p))
    return refuse_registration(Refusal::NotInDirectory, "pseudonym is not in the directory");
  auto old = registrations_.find(p);
  if (old == registrations_.end() && registrations_.size() >= limits_.max_registrations)
    return refuse_registration(
        Refusal::TooManyRegistrations,
        std::to_string(registrations_.size()) + " registrations reach " + "the limit");
  Registration reg{sa.id(), sa.our_spi(), sa.remote_id().payload(), now, {}};
  if (old != registrations_.end()) {
    ++stats_.replaced;
    log(out, 1,
        "'" + p + "' registered again in IKE_SA [" + std::to_string(sa.id()) +
            "], replacing IKE_SA [" + std::to_string(old->second.sa_id) + "]");
    commands_.push_back(Command{Command::Kind::Terminate, old->second.spi, {}, p});
    reg.connects = old->second.connects;  // a new SA does not refill the bucket
    old->second = std::move(reg);
  } else {
    registrations_.emplace(p, std::move(reg));
  }
  ++stats_.registrations;
  log(out, 1, "'" + p + "' registered from " + sa.remote().to_string());
  fire_callbacks(p, out);
}

void Registry::on_sa_removed(const ike::IkeSa& sa, Timestamp, Actions& out) {
  if (!is_registration(sa) || !sa.was_established()) return;
  const std::string p = pseudonym_of(sa);
  auto it = registrations_.find(p);
  if (it == registrations_.end() || it->second.spi != sa.our_spi()) return;
  registrations_.erase(it);
  ++stats_.unregistrations;
  log(out, 1, "'" + p + "' unregistered (IKE_SA [" + std::to_string(sa.id()) + "] gone)");
}

void Registry::on_refused(const ike::IkeSa& sa, const std::string& why, Actions& out) {
  const Refusal r = why == "CHILD_SA requested" ? Refusal::ChildSa : Refusal::AuthFailed;
  stats_.refuse(r);
  log(out, 1,
      std::string(r == Refusal::ChildSa ? "CHILD_SA of '" : "registration of '") +
          sa.remote_id().to_string() + "' from " + sa.remote().to_string() + " refused (" +
          std::string(name(r)) + "): " + why);
}

std::vector<Payload> Registry::on_me_connect(const ike::IkeSa& sa,
                                             const std::vector<Payload>& request, Timestamp now,
                                             Actions& out) {
  ++stats_.connect_requests;
  const std::string from = pseudonym_of(sa);
  auto reg = registrations_.find(from);
  if (reg == registrations_.end() || reg->second.spi != sa.our_spi())
    return refuse(Refusal::NotInDirectory, from, "IKE_SA is not a current registration", out);
  if (!reg->second.connects.take(limits_.connects_per_second, limits_.connects_burst, now))
    return refuse(Refusal::PeerRateLimited, from,
                  "more than " + std::to_string(limits_.connects_per_second) + " requests/s", out);
  MeConnect c = parse_me_connect(request);
  if (!c.peer) return refuse(Refusal::InvalidSyntax, from, "request lacks IDp", out);
  if (!c.connect_id) return refuse(Refusal::InvalidSyntax, from, "request lacks ME_CONNECTID", out);
  if (c.failed && !c.response)
    return relay_failure(from, reg->second, c, ike::Identity::from_payload(*c.peer).to_string(),
                         out);
  if (!c.connect_key)
    return refuse(Refusal::InvalidSyntax, from, "request lacks ME_CONNECTKEY", out);
  if (!c.bad_endpoint.empty())
    return refuse(Refusal::InvalidSyntax, from, "invalid ME_ENDPOINT: " + c.bad_endpoint, out);
  if (c.endpoints.empty())
    return refuse(Refusal::InvalidSyntax, from, "request lacks ME_ENDPOINTs", out);
  if (c.endpoints.size() > limits_.max_endpoints)
    return refuse(Refusal::TooManyEndpoints, from,
                  std::to_string(c.endpoints.size()) + " endpoints exceed the limit of " +
                      std::to_string(limits_.max_endpoints),
                  out);
  const std::string to = ike::Identity::from_payload(*c.peer).to_string();
  if (c.response) return answer(from, reg->second, c, to, now, out);
  return connect(from, reg->second, c, to, now, out);
}

std::vector<Payload> Registry::connect(const std::string& from, const Registration& reg,
                                       const MeConnect& c, const std::string& to, Timestamp now,
                                       Actions& out) {
  // Offline and unauthorized get the same answer, so that nobody can probe the directory.
  const bool authorized = directory_.may_connect(from, to);
  auto target = registrations_.find(to);
  if (!authorized) return refuse(Refusal::Unauthorized, from, "may not reach '" + to + "'", out);
  if (target == registrations_.end()) {
    if (c.callback) remember_callback(from, to, now, out);
    return refuse(Refusal::Offline, from, "'" + to + "' is not registered", out);
  }
  if (pending_of(from) >= limits_.max_pending_per_peer)
    return refuse(Refusal::TooManyPending, from,
                  std::to_string(limits_.max_pending_per_peer) + " requests already pending", out);
  auto key = std::make_pair(to, *c.connect_id);
  if (auto existing = relays_.find(key); existing != relays_.end()) {
    if (existing->second.requester != from)
      return refuse(Refusal::TooManyPending, from,
                    "ME_CONNECTID already in use towards '" + to + "'", out);
    // A's retry with the same id: relayed again, one relay counted.
    existing->second.expires = now + limits_.relay_timeout;
    existing->second.signals_failure = c.signals_failure;
    existing->second.answered = now;
  } else {
    relays_.emplace(key, Relay{from, now + limits_.relay_timeout, c.signals_failure, now});
    ++pending_count_[from];
  }
  commands_.push_back(
      Command{Command::Kind::Send, target->second.spi, relay_request(c, reg.id), to});
  ++stats_.relays;
  log(out, 1,
      "relaying ME_CONNECT from '" + from + "' to '" + to + "' (" +
          std::to_string(c.endpoints.size()) + " endpoints)");
  return {};
}

std::vector<Payload> Registry::answer(const std::string& from, const Registration& reg,
                                      const MeConnect& c, const std::string& to, Timestamp now,
                                      Actions& out) {
  auto relay = relays_.find({from, *c.connect_id});
  if (relay == relays_.end() || relay->second.requester != to)
    return refuse(Refusal::UnexpectedResponse, from,
                  "ME_RESPONSE for '" + to + "' answers no relayed request", out);
  if (--pending_count_[to] == 0) pending_count_.erase(to);
  const bool initiator_signals = relay->second.signals_failure;
  const Timestamp due = relay->second.answered + kRelayPacing;
  relays_.erase(relay);
  auto requester = registrations_.find(to);
  if (requester == registrations_.end())
    return refuse(Refusal::Offline, from, "'" + to + "' is no longer registered", out);
  Command send{Command::Kind::Send, requester->second.spi, relay_response(c, reg.id), to};
  ++stats_.relayed_responses;
  // Only ikeme peers announce the failure signal; the others get the relay paced (kRelayPacing).
  if (!initiator_signals && now < due) {
    delayed_.push_back(Delayed{due, std::move(send)});
    log(out, 1,
        "relaying ME_CONNECT response from '" + from + "' to '" + to + "' in " +
            std::to_string((due - now).count()) + " ms (after its own ME_CONNECT's answer)");
  } else {
    commands_.push_back(std::move(send));
    log(out, 1, "relaying ME_CONNECT response from '" + from + "' to '" + to + "'");
  }
  remember_transaction(to, from, *c.connect_id, initiator_signals, c.signals_failure, now, out);
  return {};
}

void Registry::remember_transaction(const std::string& initiator, const std::string& responder,
                                    const Bytes& connect_id, bool initiator_signals,
                                    bool responder_signals, Timestamp now, Actions& out) {
  // Only worth remembering if one of the two can be told about the other's failure.
  if (!initiator_signals && !responder_signals) return;
  auto key = std::make_pair(responder, connect_id);
  if (!transactions_.count(key) && transactions_.size() >= kMaxTransactions) {
    log(out, 1,
        "endpoint exchange of '" + initiator + "' and '" + responder + "' not remembered: " +
            std::to_string(kMaxTransactions) + " already are (a failure will not be relayed)");
    return;
  }
  transactions_[key] =
      Transaction{initiator, initiator_signals, responder_signals, now + kTransactionMemory};
}

std::vector<Payload> Registry::relay_failure(const std::string& from, const Registration& reg,
                                             const MeConnect& c, const std::string& to,
                                             Actions& out) {
  ++stats_.failure_signals;
  const std::string id = to_hex(*c.connect_id);
  // `from` may be either side of the transaction: B (the key) or A (the initiator).
  auto t = transactions_.find({from, *c.connect_id});
  bool from_responder = t != transactions_.end() && t->second.initiator == to;
  if (!from_responder) {
    t = transactions_.find({to, *c.connect_id});
    if (t != transactions_.end() && t->second.initiator != from) t = transactions_.end();
  }
  if (t == transactions_.end())
    return refuse(Refusal::UnknownTransaction, from,
                  "ME_CONNECT_FAILED for '" + to + "', connect ID " + id +
                      ", names no endpoint exchange relayed between them",
                  out);
  const bool takes = from_responder ? t->second.initiator_signals : t->second.responder_signals;
  transactions_.erase(t);  // one signal per transaction
  if (!directory_.may_connect(from, to) && !directory_.may_connect(to, from))
    return refuse(Refusal::Unauthorized, from, "may no longer reach '" + to + "'", out);
  auto target = registrations_.find(to);
  if (target == registrations_.end())
    return refuse(Refusal::Offline, from, "'" + to + "' is no longer registered", out);
  if (!takes) {
    ++stats_.failures_withheld;
    log(out, 1,
        "ME_CONNECT_FAILED from '" + from + "' (connect ID " + id + ") not relayed: '" + to +
            "' did not announce that it takes it (a strongSwan peer would answer INVALID_SYNTAX)");
    return {ike::make_notify(ike::NotifyType::ME_CONNECT_FAILED)};
  }
  commands_.push_back(
      Command{Command::Kind::Send, target->second.spi, failure_request(*c.connect_id, reg.id), to});
  ++stats_.failures_relayed;
  log(out, 1,
      "relaying ME_CONNECT_FAILED from '" + from + "' to '" + to + "' (connect ID " + id +
          "): every pair failed");
  return {};
}

void Registry::remember_callback(const std::string& from, const std::string& to, Timestamp now,
                                 Actions& out) {
  auto range = callbacks_.equal_range(to);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second.requester == from) {
      it->second.expires = now + limits_.callback_timeout;
      return;
    }
  if (pending_of(from) >= limits_.max_pending_per_peer) {
    stats_.refuse(Refusal::TooManyPending);
    log(out, 1, "ME_CALLBACK for '" + from + "' not remembered: too many pending requests");
    return;
  }
  callbacks_.emplace(to, Callback{from, now + limits_.callback_timeout});
  ++pending_count_[from];
  ++stats_.callbacks_stored;
  log(out, 2, "remembering that '" + from + "' waits for '" + to + "'");
}

void Registry::fire_callbacks(const std::string& registered, Actions& out) {
  auto range = callbacks_.equal_range(registered);
  const auto& target = registrations_.at(registered);
  for (auto it = range.first; it != range.second; ++it) {
    const std::string& requester = it->second.requester;
    if (--pending_count_[requester] == 0) pending_count_.erase(requester);
    auto reg = registrations_.find(requester);
    if (reg == registrations_.end() || !directory_.may_connect(requester, registered)) continue;
    commands_.push_back(
        Command{Command::Kind::Send, reg->second.spi, callback_request(target.id), requester});
    ++stats_.callbacks_sent;
    log(out, 1, "'" + registered + "' registered: calling back '" + requester + "'");
  }
  callbacks_.erase(range.first, range.second);
}

size_t Registry::pending_of(const std::string& pseudonym) const {
  auto it = pending_count_.find(pseudonym);
  return it == pending_count_.end() ? 0 : it->second;
}

void Registry::set_directory(Directory directory, Timestamp, Actions& out) {
  directory_ = std::move(directory);
  for (auto it = registrations_.begin(); it != registrations_.end();) {
    if (directory_.contains(it->first)) {
      ++it;
      continue;
    }
    ++stats_.directory_removed;
    log(out, 0, "'" + it->first + "' was removed from the directory: closing its registration");
    commands_.push_back(Command{Command::Kind::Terminate, it->second.spi, {}, it->first});
    it = registrations_.erase(it);
  }
  auto drop = [&](const std::string& requester) {
    if (--pending_count_[requester] == 0) pending_count_.erase(requester);
  };
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (directory_.contains(it->first.first) && directory_.contains(it->second.requester)) {
      ++it;
      continue;
    }
    drop(it->second.requester);
    it = relays_.erase(it);
  }
  for (auto it = callbacks_.begin(); it != callbacks_.end();) {
    if (directory_.may_connect(it->second.requester, it->first)) {
      ++it;
      continue;
    }
    drop(it->second.requester);
    it = callbacks_.erase(it);
  }
  std::erase_if(transactions_, [this](const auto& t) {
    return !directory_.contains(t.first.first) || !directory_.contains(t.second.initiator);
  });
}

void Registry::expire(Timestamp now, Actions& out) {
  std::erase_if(delayed_, [&](Delayed& d) {
    if (now < d.due) return false;
    commands_.push_back(std::move(d.command));
    return true;
  });
  if (now < last_sweep_ + kSweepInterval) return;
  last_sweep_ = now;
  auto drop = [&](const std::string& requester) {
    if (--pending_count_[requester] == 0) pending_count_.erase(requester);
  };
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.expires > now) {
      ++it;
      continue;
    }
    ++stats_.relays_expired;
    log(out, 1,
        "relayed ME_CONNECT from '" + it->second.requester + "' to '" + it->first.first +
            "' expired unanswered");
    drop(it->second.requester);
    it = relays_.erase(it);
  }
  for (auto it = callbacks_.begin(); it != callbacks_.end();) {
    if (it->second.expires > now) {
      ++it;
      continue;
    }
    ++stats_.callbacks_expired;
    log(out, 2,
        "callback for '" + it->second.requester + "' waiting for '" + it->first + "' expired");
    drop(it->second.requester);
    it = callbacks_.erase(it);
  }
  std::erase_if(transactions_, [now](const auto& t) { return t.second.expires <= now; });
}

std::optional<Timestamp> Registry::next_timeout() const {
  std::optional<Timestamp> t;
  if (!relays_.empty() || !callbacks_.empty() || !transactions_.empty())
    t = last_sweep_ + kSweepInterval;
  for (const Delayed& d : delayed_) t = t ? std::min(*t, d.due) : d.due;
  return t;
}

}  // namespace ikeme::mediator
