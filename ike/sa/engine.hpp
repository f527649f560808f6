#pragma once
// The IKE engine: all IKE SAs of one daemon, sans-IO. The daemon feeds it datagrams from its
// sockets, commands and the time; it answers through Actions and tells when it next needs to be
// woken (next_timeout). It owns the SPI index, half-open accounting and cookies (RFC 7296 §2.6).

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {

struct EngineStats {
  uint64_t datagrams_in = 0;
  uint64_t malformed = 0;
  uint64_t cookies_sent = 0;
  uint64_t half_open_dropped = 0;
  uint64_t unknown_spi = 0;
  uint64_t retries = 0;
  uint64_t ike_established = 0;
  uint64_t ike_failed = 0;
  uint64_t children_installed = 0;
};

class IkeEngine {
 public:
  IkeEngine(EngineConfig config, crypto::Rng& rng);
  ~IkeEngine();

  // A datagram that arrived on `local` (the socket's address and port) from `remote`. ESP and
  // keepalives on the NAT-T port are not the engine's: it ignores them (the daemon routes ESP).
  void handle_datagram(Endpoint local, Endpoint remote, ByteView datagram, Timestamp now,
                       Actions& out);

  // Starts the named connection (and its first child, or `child` by name) as initiator.
  // `source` is the local address the daemon's routing chose for the peer; it is used when the
  // connection names no local_addrs (NAT detection hashes need the real address).
  Status<std::string> initiate(const std::string& connection, const std::string& child,
                               Timestamp now, Actions& out,
                               std::optional<IpAddress> source = std::nullopt);
  // Deletes every IKE SA of a connection (or one SA by id if `sa_id` != 0).
  Status<std::string> terminate(const std::string& connection, uint32_t sa_id, Timestamp now,
                                Actions& out);
  // Deletes all SAs (daemon shutdown).
  void terminate_all(Timestamp now, Actions& out);

  // --- engine_children.cpp: CHILD_SA lifetimes
  // Rekeys the CHILD_SA with this unique id with CREATE_CHILD_SA (a data plane's soft expiry, or
  // `ikemectl rekey`). An error says why not (unknown, already being rekeyed, ...).
  Status<std::string> rekey_child(uint32_t unique_id, Timestamp now, Actions& out);
  // A CHILD_SA's hard expiry. True if a newer CHILD_SA had already replaced it: it is deleted
  // alone. False: it is still the current one (its rekeying failed or never ran).
  bool expire_replaced_child(uint32_t unique_id, Timestamp now, Actions& out);
  // Replaces the configuration; established SAs keep the connection they were made with.
  void reload(EngineConfig config);

  std::optional<Timestamp> next_timeout() const;
  void handle_timeout(Timestamp now, Actions& out);

  // The result of a KeyExchangeJob from Actions::key_exchanges (EngineConfig::defer_key_exchange):
  // the SA derives its keys and handles the messages that arrived meanwhile; a failure fails it.
  // A job whose SA is gone is discarded.
  void complete_key_exchange(const KeyExchangeJob& job, Result<Bytes, crypto::CryptoError> shared,
                             Timestamp now, Actions& out);

  // Wall-clock UTC, for certificate validity: the daemon sets it before feeding the engine (the
  // engine's Timestamp is monotonic and reads no clock). Until set it is the epoch.
  void set_wall_clock(pki::TimePoint now) { wall_clock_ = now; }
  pki::TimePoint wall_clock() const { return wall_clock_; }

  std::vector<IkeSaInfo> list_sas() const;
  // Virtual IP pools with their leases (online: an IKE SA uses it; offline: kept for the identity).
  std::vector<PoolInfo> list_pools() const { return pools_.info(); }
  const EngineConfig& config() const { return config_; }
  const EngineStats& stats() const { return stats_; }
  size_t sa_count() const { return sas_.size(); }
  // The unique id the next IKE SA will get: a successful initiate() gives it to the SA it
  // creates (the daemon replies with it without listing every SA).
  uint32_t next_sa_id() const { return next_sa_id_; }
  size_t half_open_count() const;

  // --- engine_mediation.cpp: IKE-ME mediation server support (mediation_hooks.hpp)
  // The hooks live as long as the engine uses them; null removes them.
  void set_mediation_hooks(MediationHooks* hooks) { hooks_ = hooks; }
  // Sends (or queues behind the outstanding request) a request of ours on the established SA
  // with our SPI `spi`. False if there is no such SA or it cannot take the request.
  bool send_request(uint64_t spi, ExchangeType exchange, std::vector<Payload> inner, Timestamp now,
                    Actions& out);
  // Deletes the IKE SA with our SPI `spi` (a DELETE if established). False if there is none.
  bool terminate_sa(uint64_t spi, Timestamp now, Actions& out);
  // Removes the IKE SA with our SPI `spi` and its CHILD_SAs without a DELETE, logging `why`: its
  // local address is gone, so nothing can be sent from it (the peer learns from INITIAL_CONTACT
  // in the replacement, or DPD). False if there is no such SA.
  bool abandon_sa(uint64_t spi, const std::string& why, Timestamp now, Actions& out);
  // Like terminate_sa, with the DELETE sent over (local, remote): the path of an SA that replaces
  // this one with the same peer, when this one's own path is stale (a NAT rebound).
  bool terminate_sa_via(uint64_t spi, const Endpoint& local, const Endpoint& remote, Timestamp now,
                        Actions& out);
  const IkeSa* find_sa(uint64_t spi) const;
  // The client role: a mediated connection's IKE SA, from the nominated pair's local base to its
  // remote address, with N(ME_CONNECTID) in IKE_SA_INIT. Returns the new SA's id.
  Result<uint32_t, std::string> initiate_mediated(const std::string& connection,
                                                  const std::string& child, Endpoint local,
                                                  Endpoint remote, Bytes connect_id, Timestamp now,
                                                  Actions& out);
  // DH private values generated so far when they are reused (ke_reuse_lifetime), else 0.
  uint64_t key_exchanges_generated() const { return ke_pool_ ? ke_pool_->generated() : 0; }

 private:
  SaContext context();
  // Shared by initiate() and initiate_mediated(): the named connection, its child (the first
  // when `child` is empty; null when it has none), each with the error the caller reports; and
  // taking a freshly initiated SA into the SPI index (its id, or why it died at once).
  Result<std::shared_ptr<const ConnectionConfig>, std::string> find_connection(
      const std::string& connection) const;
  static Result<const ChildConfig*, std::string> find_child(const ConnectionConfig& conn,
                                                            const std::string& child);
  Result<uint32_t, std::string> adopt_initiated(std::unique_ptr<IkeSa> sa);
  using SaMap = std::map<uint64_t, std::unique_ptr<IkeSa>>;  // by our SPI
  // Returns the SPI of the IKE SA it created, if any.
  std::optional<uint64_t> handle_init_request(Endpoint local, Endpoint remote, const Message& m,
                                              ByteView raw, Timestamp now, Actions& out);
  bool cookie_ok(const Message& m, const Endpoint& remote) const;
  Bytes make_cookie(const Message& m, const Endpoint& remote, uint32_t version) const;
  void rotate_cookie_secret(Timestamp now);
  // After every engine call: counts the installed CHILD_SAs in `out`, drops SAs that left the
  // half-open state from half_open_, and removes dead SAs (scheduling keyingtries retries and
  // dpd_action restarts). reap() checks every SA, reap_one() only the one a datagram reached.
  void reap(Timestamp now, Actions& out);
  void reap_one(std::optional<uint64_t> spi, Timestamp now, Actions& out);
  SaMap::iterator reap_sa(SaMap::iterator it, Timestamp now, Actions& out);
  void count_children(const Actions& out);
  // Keeps deadlines_ in step with the SAs' next_timeout(): after anything that may have changed
  // an SA (schedule), or all of them (schedule_all). Reaping removes an SA's entry.
  void schedule(uint64_t spi);
  void schedule_all();
  // True if INITIAL_CONTACT ended other SAs (they need reaping).
  bool after_handle(IkeSa& sa, Actions& out);
  // A message for an existing SA (kept for later while its keys are pending); the same result.
  bool handle_for_sa(IkeSa& sa, const Message& m, ByteView bytes, Endpoint local, Endpoint remote,
                     Timestamp now, Actions& out);
  void answer_invalid_spi(Endpoint local, Endpoint remote, const Header& h, Timestamp now,
                          Actions& out);
  std::vector<std::shared_ptr<const ConnectionConfig>> candidates(const Endpoint& local,
                                                                  const Endpoint& remote) const;
  // A mediation SA we answered became established: hand it to the hooks.
  void mediation_established(IkeSa& sa, Timestamp now, Actions& out);
  // An IKE_SA_INIT request with N(ME_CONNECTID) is answered only if the hooks expect it.
  bool admit_mediated_init(const Message& m, const Endpoint& local, const Endpoint& remote,
                           Timestamp now, Actions& out);

  EngineConfig config_;
  std::vector<std::shared_ptr<const ConnectionConfig>> connections_;
  crypto::Rng& rng_;
  pki::TimePoint wall_clock_{};
  AddressPools pools_;  // leases survive reload() for unchanged pools
  uint32_t next_sa_id_ = 1;
  uint32_t next_child_id_ = 1;
  SaMap sas_;
  // Responder half-open SAs by (initiator SPI, remote endpoint), to spot retransmitted requests,
  // and the same entries by our SPI, so that reaping one SA finds its entry without a scan.
  std::map<std::pair<uint64_t, Endpoint>, uint64_t> half_open_;
  std::map<uint64_t, std::pair<uint64_t, Endpoint>> half_open_of_;
  // Every SA's next deadline, earliest first, so that next_timeout() after each engine call and
  // handle_timeout() need not visit every SA.
  std::set<std::pair<Timestamp, uint64_t>> deadlines_;  // (when, our SPI)
  std::map<uint64_t, Timestamp> deadline_of_;           // our SPI -> its entry above
  Bytes cookie_secret_, previous_cookie_secret_;
  uint32_t cookie_version_ = 0;
  Timestamp cookie_rotated_{0};
  EngineStats stats_;
  MediationHooks* hooks_ = nullptr;
  std::unique_ptr<KeyExchangePool> ke_pool_;
  SecretIndex secret_index_;  // over config_.ike_secrets

  // Initiations to start later: keyingtries retries and dpd_action=restart.
  struct PendingInitiate {
    std::string connection, child;
    Timestamp at{0};
    unsigned attempt = 1;             // the attempt this will be
    std::optional<IpAddress> source;  // the local address the first attempt used
  };
  std::vector<PendingInitiate> pending_;
  std::map<uint32_t, unsigned> attempt_of_;  // SA id -> which keying attempt it is
  Timestamp invalid_spi_window_{0};
  unsigned invalid_spi_sent_ = 0;
};

}  // namespace ikeme::ike
