#pragma once
// The mediation server's state, sans-IO: registrations by pseudonym (one each: a new SA replaces
// the old one), the ME_CONNECT relay with the relays awaiting B's answer, remembered callbacks,
// per-pseudonym rate limits and the counters. It is the engine's MediationHooks; what it wants
// done to other SAs (relay, callback, delete) it queues as Commands, which MediationServer
// applies once the engine call that triggered them has returned.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/mediator_limits.hpp"
#include "config/pseudonym_directory.hpp"
#include "ike/sa/ike_sa.hpp"
#include "ike/sa/mediation_hooks.hpp"
#include "mediator/core/me_connect.hpp"
#include "mediator/core/stats.hpp"
#include "mediator/core/token_bucket.hpp"

namespace ikeme::mediator {

using config::CredentialKind;
using config::Directory;
using config::DirectoryEntry;
using config::Limits;

struct Registration {
  uint32_t sa_id = 0;
  uint64_t spi = 0;  // our SPI of the mediation SA
  ike::IdPayload id;
  ike::Timestamp registered{0};
  TokenBucket connects;  // ME_CONNECT requests
};

struct Command {
  enum class Kind { Send, Terminate };
  Kind kind = Kind::Send;
  uint64_t spi = 0;
  std::vector<ike::Payload> payloads;  // Send: an ME_CONNECT request
  std::string pseudonym;               // whom it goes to, for the log
};

class Registry final : public ike::MediationHooks {
 public:
  Registry(Directory directory, Limits limits);

  // --- MediationHooks
  void on_mediation_established(const ike::IkeSa& sa, ike::Timestamp now,
                                ike::Actions& out) override;
  void on_sa_removed(const ike::IkeSa& sa, ike::Timestamp now, ike::Actions& out) override;
  void on_refused(const ike::IkeSa& sa, const std::string& why, ike::Actions& out) override;
  std::vector<ike::Payload> on_me_connect(const ike::IkeSa& sa,
                                          const std::vector<ike::Payload>& request,
                                          ike::Timestamp now, ike::Actions& out) override;

  // A new directory: registrations of pseudonyms it no longer lists are closed (queued), the
  // rest are kept; relays and callbacks involving removed pseudonyms are dropped.
  void set_directory(Directory directory, ike::Timestamp now, ike::Actions& out);
  void set_limits(const Limits& limits) { limits_ = limits; }
  // Expires relays and callbacks that are due.
  void expire(ike::Timestamp now, ike::Actions& out);
  std::optional<ike::Timestamp> next_timeout() const;

  std::vector<Command> take_commands() { return std::exchange(commands_, {}); }
  const std::map<std::string, Registration>& registrations() const { return registrations_; }
  const Directory& directory() const { return directory_; }
  const Limits& limits() const { return limits_; }
  MediatorStats& stats() { return stats_; }
  const MediatorStats& stats() const { return stats_; }
  size_t pending_relays() const { return relays_.size(); }
  size_t pending_callbacks() const { return callbacks_.size(); }
  size_t remembered_transactions() const { return transactions_.size(); }
  size_t delayed_relays() const { return delayed_.size(); }

  // The least time between the response to A's ME_CONNECT and the relay of B's answer to A, when
  // A is not an ikeme peer. strongSwan handles the two messages on different threads; when the
  // relay is processed first it finds no check list yet ("checklist with id ... not found"),
  // drops it, and the mediated connection never comes up. An ikeme B answers within a
  // millisecond in a LAN, close enough for that race (seen in the namespace interop tests).
  static constexpr ike::Duration kRelayPacing{20};

 private:
  struct Relay {  // A asked for B; B's ME_RESPONSE is awaited
    std::string requester;
    ike::Timestamp expires{0};
    bool signals_failure = false;  // A announced that it takes ME_CONNECT_FAILED
    ike::Timestamp answered{0};    // when A's own ME_CONNECT got its (empty) response
  };
  // A command held back until `due` (relay_pacing).
  struct Delayed {
    ike::Timestamp due{0};
    Command command;
  };
  // An endpoint exchange the server completed (B's response relayed to A): while the two check,
  // either may report that every pair failed, and the server passes that on to the other one.
  struct Transaction {
    std::string initiator;  // A (the key holds B and the CONNECTID)
    bool initiator_signals = false, responder_signals = false;
    ike::Timestamp expires{0};
  };
  struct Callback {  // A asked for B while B was offline
    std::string requester;
    ike::Timestamp expires{0};
  };
  std::vector<ike::Payload> refuse(Refusal reason, const std::string& pseudonym,
                                   const std::string& why, ike::Actions& out);
  std::vector<ike::Payload> connect(const std::string& from, const Registration& reg,
                                    const MeConnect& c, const std::string& to, ike::Timestamp now,
                                    ike::Actions& out);
  std::vector<ike::Payload> answer(const std::string& from, const Registration& reg,
                                   const MeConnect& c, const std::string& to, ike::Timestamp now,
                                   ike::Actions& out);
  std::vector<ike::Payload> relay_failure(const std::string& from, const Registration& reg,
                                          const MeConnect& c, const std::string& to,
                                          ike::Actions& out);
  void remember_transaction(const std::string& initiator, const std::string& responder,
                            const Bytes& connect_id, bool initiator_signals, bool responder_signals,
                            ike::Timestamp now, ike::Actions& out);
  void remember_callback(const std::string& from, const std::string& to, ike::Timestamp now,
                         ike::Actions& out);
  void fire_callbacks(const std::string& registered, ike::Actions& out);
  size_t pending_of(const std::string& pseudonym) const;
  void log(ike::Actions& out, int level, std::string text, uint32_t sa = 0) const;

  Directory directory_;
  Limits limits_;
  std::map<std::string, Registration> registrations_;
  std::map<std::pair<std::string, Bytes>, Relay> relays_;              // (B, CONNECTID) -> relay
  std::multimap<std::string, Callback> callbacks_;                     // B -> who waits for it
  std::map<std::pair<std::string, Bytes>, Transaction> transactions_;  // (B, CONNECTID)
  std::map<std::string, size_t> pending_count_;  // requester -> relays + callbacks
  std::vector<Command> commands_;
  std::vector<Delayed> delayed_;
  MediatorStats stats_;
  ike::Timestamp last_sweep_{0};
};

}  // namespace ikeme::mediator
