#pragma once
// The peer side of IKE-ME, sans-IO: the IKE engine's MediationHooks in the client role plus the
// ICE agents of the connection attempts (docs/ike-me-protocol.md, docs/architecture.md).
//
// - Mediation connections (`mediation: yes`) are kept up: registered when a mediated connection
//   needs them (or on start_action), re-registered with back-off when the server goes away.
// - A mediated connection (`mediated_by`, `mediation_peer`) is initiated with ME_CONNECT on its
//   mediation SA (our ME_CONNECTID, ME_CONNECTKEY, ME_CALLBACK and ME_ENDPOINTs); the relayed
//   response starts the connectivity checks; the nominated pair gets the direct IKE_SA_INIT with
//   N(ME_CONNECTID). ME_CONNECT_FAILED and failed checks are retried with back-off; ME_CALLBACK
//   (the peer registered) starts over at once.
// - After a NAT rebinding (the registration's SRFLX refresh reports a new endpoint) the mediated
//   connections start over and the new direct SA replaces the old one
//   (mediation_client_rebind.cpp).
// - ME_CONNECT requests the server relays to us are answered with ours (N(ME_RESPONSE)); once the
//   server acknowledged it we check too, and accept the peer's IKE_SA_INIT only for a pair of a
//   transaction of ours (IceSessions::peer_nominated).
//
// The daemon (and tests) feed every datagram, the time and commands to this object instead of
// the engine: connectivity checks (IKE header with zero SPIs) go to the ICE agents first. Commands
// that would act on the engine from inside an engine callback are deferred until it returns.

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ice/candidates.hpp"
#include "ice/sessions.hpp"
#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"
#include "ike/sa/mediation_hooks.hpp"

namespace ikeme::peer {

struct MediationClientConfig {
  MediationClientConfig() { agent.triggered_holdoff = agent.initial_rto; }
  // The ICE agents' settings; ikeme-peer holds back a triggered check on an in-progress pair
  // while the answer to our own young request may still come (the round trip of our ME_CONNECT
  // with the server plus 2 ms, at most one RTO): fewer datagrams when both sides checked at the
  // same moment, barely later when our first check was dropped.
  ice::AgentConfig agent;
  ice::ExclusionList exclusions;  // never disclosed as ME_ENDPOINTs
  size_t max_candidates = 8;
  // Another ME_CONNECT after ME_CONNECT_FAILED or failed checks: doubling from min to max.
  ike::Duration retry_min{2000};
  ike::Duration retry_max{60000};
  // Re-registration after the mediation SA went away or could not be set up.
  ike::Duration register_min{1000};
  ike::Duration register_max{60000};
  // The host addresses to disclose (the daemon's rtnetlink monitor), asked at each ME_CONNECT;
  // unset or empty: the mediation SA's own local address only.
  std::function<std::vector<ice::HostAddress>()> host_addresses;
  // The local address for a mediation connection's IKE SA (the daemon's route lookup).
  std::function<std::optional<IpAddress>(const ike::ConnectionConfig&)> source_for;
};

// What list-sas and explain show of a mediated connection.
struct MediatedStatus {
  std::string connection;
  std::string mediated_by;     // the mediation connection
  std::string own_pseudonym;   // our identity at the mediation server
  std::string peer_pseudonym;  // mediation_peer
  bool initiating = false;     // we send ME_CONNECT (else we answer the peer's)
  std::string phase;           // "idle", "registering", "requested", "checking", ...
  std::string connect_id;      // hex
  uint32_t ike_sa_id = 0;      // the direct IKE SA, once started
  std::optional<ice::Nomination> nomination;
  std::optional<ice::Failure> last_failure;
  std::string last_problem;  // why the last attempt did not work
  unsigned attempts = 0, failures = 0;
  unsigned rebinds = 0;  // restarts after our NAT rebound
  std::optional<ike::Timestamp> retry_at;
  // Phase timings of the current or last attempt, from its start (ME_CONNECT queued).
  ike::Timestamp started{0};
  std::optional<ike::Duration> to_checks, to_nomination, to_established;
};

class MediationClient : public ike::MediationHooks {
 public:
  MediationClient(ike::IkeEngine& engine, ike::crypto::Rng& rng, MediationClientConfig config);
  ~MediationClient() override;
  MediationClient(const MediationClient&) = delete;
  MediationClient& operator=(const MediationClient&) = delete;

  void set_exclusions(ice::ExclusionList exclusions) { config_.exclusions = std::move(exclusions); }
  // For attempts that start from now on (a reload).
  void set_transaction_timeout(ike::Duration timeout) {
    config_.agent.transaction_timeout = timeout;
    sessions_.set_config(config_.agent);
  }

  // Everything the engine would get: checks go to the ICE agents, the rest to the engine.
  void handle_datagram(const ike::Endpoint& local, const ike::Endpoint& remote, ByteView datagram,
                       ike::Timestamp now, ike::Actions& out);
  std::optional<ike::Timestamp> next_timeout() const;
  void handle_timeout(ike::Timestamp now, ike::Actions& out);

  bool is_mediated(const std::string& connection) const;
  bool is_mediation(const std::string& connection) const;
  // The host's addresses changed (ikeme-peer's rtnetlink monitor; `gone` are the ones that
  // disappeared). A mediation SA whose local address is gone registers again; a mediated
  // connection whose direct IKE SA, nominated pair or disclosed candidates used one starts over
  // with a new ME_CONNECT (restart_mediated). New addresses go into the next ME_CONNECT only.
  // Defined in mediation_client_addresses.cpp.
  void host_addresses_changed(const std::vector<IpAddress>& gone, ike::Timestamp now,
                              ike::Actions& out);
  // Brings up a mediated connection (ME_CONNECT, registering first if needed) or keeps a
  // mediation connection registered. Failures later are retried.
  Status<std::string> initiate(const std::string& connection, ike::Timestamp now,
                               ike::Actions& out);
  // The user terminated the connection: no more retries or re-registrations for it.
  void forget(const std::string& connection);
  void forget_all();  // shutdown

  std::vector<MediatedStatus> status() const;
  std::optional<MediatedStatus> status(const std::string& connection) const;
  // Why a mediated connection is not up, in a sentence or a few lines (ikemectl explain).
  std::string explain(const std::string& connection, ike::Timestamp now) const;
  const ice::IceSessions& sessions() const { return sessions_; }

  // --- MediationHooks (client role)
  void on_mediation_established(const ike::IkeSa&, ike::Timestamp, ike::Actions&) override {}
  void on_established(const ike::IkeSa& sa, ike::Timestamp now, ike::Actions& out) override;
  void on_sa_removed(const ike::IkeSa& sa, ike::Timestamp now, ike::Actions& out) override;
  std::vector<ike::Payload> on_me_connect(const ike::IkeSa& sa,
                                          const std::vector<ike::Payload>& request,
                                          ike::Timestamp now, ike::Actions& out) override;
  void on_me_connect_response(const ike::IkeSa& sa, const std::vector<ike::Payload>& payloads,
                              ike::Timestamp now, ike::Actions& out) override;
  bool accept_mediated_init(ByteView connect_id, const ike::Endpoint& local,
                            const ike::Endpoint& remote, ike::Timestamp now,
                            ike::Actions& out) override;
  // mediation_client_rebind.cpp: our NAT rebound (the server reported a new server-reflexive
  // endpoint): the direct SAs through it are dead behind a filtering NAT on the other side, so
  // the mediated connections start over with fresh endpoints; the new SA replaces the old one.
  void on_server_reflexive_changed(const ike::IkeSa& sa, const std::optional<ike::Endpoint>& before,
                                   ike::Timestamp now, ike::Actions& out) override;

 private:
  struct Registration {
    std::string connection;
    bool wanted = false;
    bool up = false;
    uint64_t spi = 0;  // our SPI of the registration SA
    std::optional<ike::Timestamp> retry_at;
    ike::Duration backoff{0};
    std::string last_problem;
    // ME_CONNECT requests sent on the SA, oldest first (connect IDs; responses come in order):
    // our request, our answer to the peer's (N(ME_RESPONSE)), our failure signal.
    enum class Sent : uint8_t { Request, Response, Failure };
    std::deque<std::pair<Bytes, Sent>> sent;
    // Register again (a fresh SRFLX) once the requests above are answered: a failure signal
    // still in flight would be lost with the SA (mediation_client_rebind.cpp).
    bool reregister_when_idle = false;
  };
  enum class Phase : uint8_t {
    Idle,
    Registering,
    Requested,
    AwaitingPeer,
    Checking,
    Connecting,
    Established,
    Backoff
  };
  struct Mediated {
    std::string connection;
    bool wanted = false;  // we initiate (start_action or ikemectl initiate)
    Phase phase = Phase::Idle;
    ice::Role role = ice::Role::Initiator;
    Bytes connect_id, key;
    std::vector<ice::Candidate> local;
    uint32_t sa_id = 0;
    // Our SPI of the last established direct SA (sa_id may already name its replacement):
    // deleted once a new one is established.
    uint64_t sa_spi = 0;
    unsigned rebinds = 0;  // restarts caused by a NAT rebinding
    unsigned attempts = 0, failures = 0;
    ike::Duration backoff{0};
    std::optional<ike::Timestamp> retry_at;
    std::optional<ice::Nomination> nomination;
    std::optional<ice::Failure> last_failure;
    std::string last_problem;
    ike::Timestamp started{0};
    std::optional<ike::Duration> to_checks, to_nomination, to_established;
    ike::Timestamp connect_sent{0};
    std::optional<ike::Duration> server_rtt;  // of our ME_CONNECT: a hint for the checks
    std::optional<ike::Identity> peer;        // the pseudonym of this attempt's peer (IDp)
  };

  const ike::ConnectionConfig* config_of(const std::string& connection) const;
  Registration& registration(const std::string& connection);
  Mediated& mediated(const std::string& connection);
  Mediated* by_connect_id(ByteView connect_id);
  const ike::IkeSa* registration_sa(const Registration& r) const;
  void register_now(Registration& r, ike::Timestamp now, ike::Actions& out);
  void registration_lost(Registration& r, const std::string& why, ike::Timestamp now,
                         ike::Actions& out);
  void begin(Mediated& m, ike::Timestamp now, ike::Actions& out);
  void send_connect(Mediated& m, Registration& r, bool response, const ike::Identity& peer,
                    ike::Timestamp now, ike::Actions& out);
  std::vector<ice::Candidate> gather(const ike::IkeSa& sa, ike::Actions& out,
                                     const std::string& connection) const;
  void start_checks(Mediated& m, const Bytes& remote_key,
                    const std::vector<ike::MeEndpoint>& remote, ike::Timestamp now,
                    ike::Actions& out);
  void attempt_failed(Mediated& m, const std::string& why, ike::Timestamp now, ike::Actions& out);
  // The failure signal (mediation_failure.cpp): every pair of ours failed, tell the peer; the
  // server's answer to that; the peer's signal relayed to us.
  void signal_failure(const Mediated& m);
  void failure_signal_answered(const std::string& mediation, const Bytes& connect_id,
                               const std::vector<ike::Payload>& payloads, ike::Actions& out);
  void peer_reported_failure(const ike::IkeSa& sa, const std::string& connection,
                             const ike::Identity& peer, const Bytes& connect_id, ike::Timestamp now,
                             ike::Actions& out);
  // Both sides sent ME_CONNECT at once and the peer's arrived while ours is pending: true if
  // ours goes on and the peer's is left unanswered (the peer answers ours).
  bool keep_ours(const Mediated& m, const Bytes& peer_connect_id) const;
  // Drops the connection's attempt or direct IKE SA (a DELETE if it is still established) and,
  // with `initiate`, sends a new ME_CONNECT at once (no back-off): what it used is gone, waiting
  // would not help; the connection is then `wanted` (kept up, retried). Without, the peer has
  // to connect again.
  void restart_mediated(Mediated& m, const std::string& why, bool initiate, ike::Timestamp now,
                        ike::Actions& out);
  void take(ice::AgentOutput& ice_out, ike::Timestamp now, ike::Actions& out);
  void run_deferred(ike::Timestamp now, ike::Actions& out);
  void log(ike::Actions& out, int level, const std::string& connection, std::string text) const;
  // mediation_client_rebind.cpp: a new direct SA of `m` was established; the one it replaces
  // (our SPI `older`) is deleted if we initiated the new one, else the peer deletes it.
  void retire_replaced(Mediated& m, uint64_t older, const ike::IkeSa& sa, ike::Actions& out);
  // An attempt of `m` failed (checks, or the direct SA died). If our registration is behind a
  // NAT and its server never answered a refresh query (strongSwan), our SRFLX may be stale: the
  // registration is made again, so that the next ME_CONNECT discloses a fresh one.
  void refresh_by_registering(const Mediated& m, ike::Actions& out);
  void reregister_if_idle(Registration& r);
  MediatedStatus describe(const Mediated& m) const;

  ike::IkeEngine& engine_;
  ike::crypto::Rng& rng_;
  MediationClientConfig config_;
  ice::IceSessions sessions_;
  std::map<std::string, Registration> registrations_;
  std::map<std::string, Mediated> mediated_;
  // Responder: the peer's key and endpoints, until the server acknowledged our answer.
  std::map<Bytes, std::pair<Bytes, std::vector<ike::MeEndpoint>>> pending_remote_;
  // Engine calls wanted from inside an engine callback; run after it returned.
  std::vector<std::function<void(ike::Timestamp, ike::Actions&)>> deferred_;
};

const char* name_of(ike::EndpointType type);  // "host", "srflx", "prflx", "relay"

}  // namespace ikeme::peer
