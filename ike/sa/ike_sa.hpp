#pragma once
// One IKE SA (RFC 7296) and its CHILD_SAs, sans-IO. It is fed parsed messages with their raw bytes
// and the time, and answers through Actions; it never touches sockets or clocks.
//
// Exchanges are handled one concern per file: ike_sa_init.cpp (IKE_SA_INIT, NAT detection,
// cookies, INVALID_KE_PAYLOAD), ike_sa_auth.cpp (IKE_AUTH with PSK and the first CHILD_SA),
// ike_sa_informational.cpp (DELETE, liveness), ike_sa_rekey.cpp (CREATE_CHILD_SA: rekeying a
// CHILD_SA, collisions), ike_sa.cpp (message IDs, protection, fragmentation, retransmission,
// timers).

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ike/codec/message.hpp"
#include "ike/crypto/key_derivation.hpp"
#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/random.hpp"
#include "ike/crypto/sk_cipher.hpp"
#include "ike/sa/actions.hpp"
#include "ike/sa/connection.hpp"
#include "ike/sa/fragment_assembler.hpp"
#include "ike/sa/key_exchange_pool.hpp"
#include "ike/sa/mediation_hooks.hpp"
#include "ike/sa/secret_index.hpp"

namespace ikeme::ike {

// Engine-wide things an SA needs: configuration, randomness and the CHILD_SA id counter.
struct SaContext {
  const EngineConfig* config = nullptr;
  crypto::Rng* rng = nullptr;
  uint32_t* next_child_id = nullptr;
  // Wall-clock UTC for certificate validity (IkeEngine::set_wall_clock); the engine is sans-IO.
  const pki::TimePoint* wall_clock = nullptr;
  // IKE-ME mediation server (null: not a mediation server) and DH reuse (null: fresh keys).
  MediationHooks* mediation = nullptr;
  KeyExchangePool* ke_pool = nullptr;
  const SecretIndex* secrets = nullptr;  // config->ike_secrets by identity (secret_index.hpp)
  // Virtual IP pools (responder side of configuration payloads).
  AddressPools* pools = nullptr;
};

struct ChildSaInfo {
  std::string name;
  uint32_t unique_id = 0;
  uint32_t spi_in = 0, spi_out = 0;
  std::string algorithms;  // "AES_GCM_16_128/NO_EXT_SEQ"
  std::string local_ts, remote_ts;
  ChildMode mode = ChildMode::Tunnel;
  bool udp_encapsulation = false;
  // INSTALLED; REKEYING (our CREATE_CHILD_SA for it is out); REKEYED (a newer CHILD_SA replaces
  // it, the peer's DELETE is awaited); DELETING (we deleted it after rekeying, the peer's
  // confirmation is awaited; it still takes inbound packets).
  std::string state = "INSTALLED";
};

struct IkeSaInfo {
  uint32_t id = 0;
  std::string connection;
  std::string state;  // CONNECTING, ESTABLISHED, DELETING, DEAD
  bool initiator = false;
  uint64_t spi_i = 0, spi_r = 0;
  Endpoint local, remote;
  std::string local_id, remote_id;
  std::string algorithms;
  bool nat_local = false, nat_remote = false;
  // A mediation SA we initiated: our server-reflexive endpoint as the server last reported it.
  std::optional<Endpoint> server_reflexive;
  std::vector<IpAddress> local_vips;   // assigned to us by the peer
  std::vector<IpAddress> remote_vips;  // assigned by us to the peer
  std::vector<ChildSaInfo> children;
};

class IkeSa {
 public:
  enum class State { Connecting, Established, Deleting, Dead };

  // Initiator: creates the SA and sends its IKE_SA_INIT request. `child` may be null (no CHILD_SA
  // in IKE_AUTH, e.g. a mediation connection).
  // `initial_contact`: no other IKE SA with this peer exists, so IKE_AUTH says INITIAL_CONTACT.
  // `connect_id` (IKE-ME): a mediated connection's IKE_SA_INIT carries it in N(ME_CONNECTID).
  static std::unique_ptr<IkeSa> initiate(uint32_t id, std::shared_ptr<const ConnectionConfig> conn,
                                         const ChildConfig* child, Endpoint local, Endpoint remote,
                                         bool initial_contact, SaContext ctx, Timestamp now,
                                         Actions& out, Bytes connect_id = {});

  // Responder: handles an IKE_SA_INIT request (the engine already checked cookies). Returns null
  // when the request is refused; the refusal (e.g. NO_PROPOSAL_CHOSEN) is then in `out`.
  static std::unique_ptr<IkeSa> respond(
      uint32_t id, const Message& request, ByteView raw, Endpoint local, Endpoint remote,
      std::vector<std::shared_ptr<const ConnectionConfig>> candidates, SaContext ctx, Timestamp now,
      Actions& out);

  // A message for this SA (the marker already stripped). `local`/`remote` are where it arrived.
  void handle(const Message& m, ByteView raw, Endpoint local, Endpoint remote, Timestamp now,
              Actions& out);

  std::optional<Timestamp> next_timeout() const;
  void handle_timeout(Timestamp now, Actions& out);

  // Sends a DELETE for the IKE SA (or tears down at once if it is not established).
  void terminate(Timestamp now, Actions& out);

  // --- ike_sa_rekey.cpp: CHILD_SA rekeying (RFC 7296 §1.3.3, §2.8)
  bool has_child(uint32_t unique_id) const;
  // Starts rekeying one of our CHILD_SAs: a CREATE_CHILD_SA request with N(REKEY_SA), a new SPI
  // and nonce, and a KE payload when its ESP proposals name a DH group (PFS). The new CHILD_SA is
  // installed when the answer comes, and the old one deleted. An error says why not (not
  // established, unknown, already being rekeyed or replaced, its configuration gone).
  Status<std::string> rekey_child(uint32_t unique_id, Timestamp now, Actions& out);
  // A CHILD_SA reached its hard lifetime. If a newer CHILD_SA already replaces it (rekeyed, the
  // DELETE not yet done), it is deleted alone and true returned; false: it is still the current
  // one, the caller must replace the whole IKE SA.
  bool expire_replaced_child(uint32_t unique_id, Timestamp now, Actions& out);
  // Sends everything from now on over (local, remote): a path to the same peer that works (the
  // one of a new SA replacing this one after a NAT rebinding). The peer, as responder, follows
  // the authenticated message; as initiator it answers where the request came from.
  void move_to(const Endpoint& local, const Endpoint& remote, Actions& out);

  State state() const { return state_; }
  bool dead() const { return state_ == State::Dead; }
  bool failed() const { return failed_; }  // ended by an error rather than a deletion
  bool was_established() const { return was_established_; }
  // The connection and child this SA was started for (initiator), for retries and restarts.
  std::shared_ptr<const ConnectionConfig> connection() const { return conn_; }
  std::string child_name() const { return child_cfg_ ? child_cfg_->name : std::string(); }
  const Identity& remote_id() const { return remote_id_; }
  // True once, after the peer sent INITIAL_CONTACT in its IKE_AUTH (RFC 7296 §2.4).
  bool take_initial_contact() { return std::exchange(initial_contact_, false); }
  // Removes the SA without any message (the peer restarted: INITIAL_CONTACT from it).
  void destroy_silently(Actions& out, const std::string& why);
  bool initiator() const { return initiator_; }
  uint32_t id() const { return id_; }
  uint64_t spi_i() const { return spi_i_; }
  uint64_t spi_r() const { return spi_r_; }
  uint64_t our_spi() const { return initiator_ ? spi_i_ : spi_r_; }
  const Endpoint& remote() const { return remote_; }
  const Endpoint& local() const { return local_; }
  const std::string& connection_name() const;
  IkeSaInfo info() const;
  // Gives back the SA's virtual IPs (leases go offline) and reports them Released. The engine
  // calls it when it removes a dead SA.
  void release_virtual_ips(Actions& out);
  // The cached IKE_SA_INIT response, for a retransmitted request (responder only).
  void resend_init_response(Actions& out);
  const Bytes& init_request() const { return init_request_; }

  // --- ike_sa_mediation.cpp
  // Sends a request of our own on an established SA now, or after the outstanding one (window of
  // 1); at most kMaxQueuedRequests wait. False when the SA cannot take it.
  static constexpr size_t kMaxQueuedRequests = 8;
  bool queue_request(ExchangeType exchange, std::vector<Payload> inner, Timestamp now,
                     Actions& out);
  // Drops what only IKE_SA_INIT/IKE_AUTH needed (the IKE_SA_INIT copies, the peer's KE value),
  // so that a long-lived registration costs little memory.
  void release_handshake_state();
  // A mediation SA we initiated: the server-reflexive endpoint the server reported in IKE_AUTH.
  const std::optional<Endpoint>& server_reflexive() const { return server_reflexive_; }
  // True once the server answered a refresh query with an endpoint (an ikeme server does;
  // strongSwan answers empty, so its SRFLX is only ever the one from IKE_AUTH).
  bool server_reflexive_refreshed() const { return srflx_answered_; }
  // A mediated SA: the ME_CONNECTID of its IKE_SA_INIT (sent or received); empty otherwise.
  const Bytes& connect_id() const { return connect_id_; }
  Identity local_id() const { return local_identity(); }

  // --- ike_sa_deferred_ke.cpp: EngineConfig::defer_key_exchange (responder)
  // True from the IKE_SA_INIT response until complete_key_exchange(): the SA has no keys yet.
  bool keys_pending() const { return keys_pending_; }
  // Keeps a message that arrived meanwhile (its raw bytes, the NAT-T marker already stripped),
  // at most kMaxDeferredMessages; false when it was dropped.
  static constexpr size_t kMaxDeferredMessages = 16;
  struct DeferredMessage {
    Endpoint local, remote;
    Bytes raw;
  };
  bool defer_message(Endpoint local, Endpoint remote, ByteView raw);
  // The shared secret of the job this SA emitted (or why it failed): derives the keys, or
  // fails the SA. Returns the messages kept meanwhile, for the engine to handle now.
  std::vector<DeferredMessage> complete_key_exchange(Result<Bytes, crypto::CryptoError> shared,
                                                     Actions& out);

  ~IkeSa();

 private:
  IkeSa(uint32_t id, SaContext ctx, bool initiator);

  struct ChildSa {
    ChildSaParams params;
    std::string algorithms;
    bool rekeying = false;  // our CREATE_CHILD_SA for it is queued or outstanding
    bool replaced = false;  // a newer CHILD_SA took over; its DELETE is on the way
  };
  // The exchange that creates a CHILD_SA: what it feeds the KEYMAT (RFC 7296 §2.17: its nonces,
  // its DH secret with PFS, else empty; whether we initiated it, so its "i" keys protect what we
  // send), and for a rekeying the CHILD_SA it replaces (ChildSaParams::replaces).
  struct ChildCreation {
    ByteView shared_secret;
    ByteView ni, nr;
    bool we_initiated = false;
    uint32_t replaces = 0;
  };
  // A CHILD_SA we deleted after rekeying: its inbound SA stays in the data plane until the peer
  // confirms the DELETE (the peer may still send on it meanwhile), at the latest until `until`.
  struct RetiringChild {
    ChildSaParams params;
    std::string algorithms;
    Timestamp until{0};
  };
  // One CREATE_CHILD_SA request of ours (queued or outstanding), in sending order.
  struct RekeyRequest {
    uint32_t old_id = 0;  // unique id of the CHILD_SA being rekeyed
    std::string child;    // and its name
    uint32_t spi_in = 0;  // our SPI of the new one
    Bytes ni;
    std::shared_ptr<crypto::KeyExchange> ke;  // PFS, else null
    std::vector<TrafficSelector> tsi, tsr;
    unsigned ke_retries = 0;  // INVALID_KE_PAYLOAD restarts
    // RFC 7296 §2.8.1: the peer rekeyed the same CHILD_SA meanwhile, in an exchange with these
    // nonces that created CHILD_SA `peer_new_id`.
    struct Collision {
      Bytes ni, nr;
      uint32_t peer_new_id = 0;
    };
    std::optional<Collision> collision;
  };
  struct Outstanding {
    ExchangeType exchange;
    uint32_t message_id;
    std::vector<Bytes> datagrams;  // framed, ready to (re)send
    unsigned retransmits = 0;
    Timestamp next_send{0};
    Timestamp give_up{0};  // for liveness checks: dpd_timeout
  };

  // --- ike_sa.cpp: plumbing
  Header header(ExchangeType exchange, bool response, uint32_t message_id) const;
  Bytes frame(Bytes message) const;  // adds the non-ESP marker on the NAT-T port
  // Encodes `inner` inside SK, or SKF fragments when too large and the peer supports them.
  std::vector<Bytes> protect(ExchangeType exchange, bool response, uint32_t message_id,
                             const std::vector<Payload>& inner, Actions& out);
  void send_request(ExchangeType exchange, std::vector<Payload> inner, Timestamp now, Actions& out);
  void send_response(ExchangeType exchange, uint32_t message_id, std::vector<Payload> inner,
                     Actions& out);
  void transmit(const std::vector<Bytes>& datagrams, Actions& out);
  void transmit(const std::vector<Bytes>& datagrams, const Endpoint& local, const Endpoint& remote,
                Actions& out);
  // Opens SK/SKF. Drop: integrity failed or more fragments are awaited. Malformed: the
  // message is authentic but its payloads are not (RFC 7296 §2.21.2: answer INVALID_SYNTAX).
  enum class Opened { Ok, Drop, Malformed };
  Opened unprotect(const Message& m, ByteView raw, std::vector<Payload>& inner, Actions& out);
  void remember_request(const Header& h, ByteView raw);
  void log(Actions& out, int level, std::string text, Subsystem s = Subsystem::IKE) const;
  void fail(Actions& out, const std::string& why);  // -> Dead, CHILD_SAs deleted
  void delete_children(Actions& out);
  // The IKE SA's keys from the DH shared secret (RFC 7296 §2.14): derive_keys computes it with
  // ke_, derive_keys_from takes it (and wipes it).
  bool derive_keys(Actions& out);
  bool derive_keys_from(Bytes& shared, Actions& out);
  // Responder with EngineConfig::defer_key_exchange: the KeyExchangeJob for ke_ in `out`.
  bool request_key_exchange(Actions& out);

  // --- ike_sa_init.cpp
  void start_init(Timestamp now, Actions& out);
  void handle_init_response(const Message& m, ByteView raw, Endpoint local, Endpoint remote,
                            Timestamp now, Actions& out);
  std::vector<Payload> nat_detection_notifies() const;
  void check_nat(const Message& m, Endpoint local, Endpoint remote, Actions& out);
  bool respond_init(const Message& request, ByteView raw, Actions& out);

  // --- ike_sa_auth.cpp
  void start_auth(Timestamp now, Actions& out);
  void handle_auth_request(const Message& m, const std::vector<Payload>& inner, Timestamp now,
                           Actions& out);
  void handle_auth_response(const std::vector<Payload>& inner, Timestamp now, Actions& out);
  // RFC 7296 §2.21.2: tell the responder in a separate INFORMATIONAL that we refused it.
  void reject_responder(const std::string& why, Timestamp now, Actions& out);
  // RFC 7296 §1.4.1: delete a CHILD_SA the responder created that we do not accept.
  void refuse_child(const std::string& why, Timestamp now, Actions& out);
  Bytes auth_value(bool ours, const IdPayload& id) const;
  // find_psk over the configured secrets, through the engine's index (secret_index.cpp).
  const SharedSecret* find_secret(const Identity& local, const Identity& remote) const;
  // Our identity: the configured one, else the certificate's subject DN (pubkey) or our address.
  Identity local_identity() const;
  // Why our own authentication cannot be made (no PSK, no certificate/key, id not in the cert).
  std::optional<std::string> local_auth_problem(const Identity& local_id) const;
  // CERT payloads (pubkey) and the AUTH payload that authenticate us with `id`.
  Result<std::vector<Payload>, std::string> own_auth_payloads(const Identity& local_id,
                                                              const IdPayload& id);
  // Verifies the peer's AUTH (and certificates) per conn_->remote; the reason when it fails.
  std::optional<std::string> verify_peer(const std::vector<Payload>& inner, const IdPayload& id,
                                         const AuthPayload& auth, const Identity& local_id,
                                         Actions& out);
  // verify_peer() with the raw public keys of conn_->remote.pubkeys.
  std::optional<std::string> verify_raw_key(const IdPayload& id, const AuthPayload& auth,
                                            Actions& out);
  std::vector<Payload> child_request_payloads();
  // The new CHILD_SA (null when its algorithms or keys fail, which is logged).
  ChildSa* install_child(const ChildConfig& cfg, const Proposal& selected, uint32_t spi_in,
                         uint32_t spi_out, std::vector<TrafficSelector> local_ts,
                         std::vector<TrafficSelector> remote_ts, ChildMode mode,
                         const ChildCreation& creation, Actions& out);
  // rekey_time with jitter (up to 10 % earlier, never past life_time), as strongSwan's
  // rand_time does, so that both ends do not start rekeying the same CHILD_SA at once.
  uint64_t jittered_rekey_time(const ChildConfig& cfg) const;
  void established(Timestamp now, Actions& out);

  // --- ike_sa_config.cpp: configuration payloads and virtual IPs (RFC 7296 §3.15)
  // Initiator: the CFG_REQUEST for the connection's vips (none if it has none).
  std::optional<Payload> cp_request() const;
  // Initiator: TSi for a "dynamic" local_ts while the virtual IP is not known: every address
  // of each requested family, for the responder to narrow to the VIP.
  std::vector<TrafficSelector> vip_request_selectors() const;
  // Initiator: reads the CFG_REPLY of the IKE_AUTH response and reports the addresses.
  void take_cp_reply(const std::vector<Payload>& inner, Actions& out);
  // Responder: answers a CFG_REQUEST in IKE_AUTH from the connection's pools: a CFG_REPLY, or
  // INTERNAL_ADDRESS_FAILURE if no address could be assigned.
  enum class CpResult { NotRequested, Assigned, Failed };
  CpResult respond_cp(const std::vector<Payload>& inner, std::vector<Payload>& resp, Actions& out);

  // --- ike_sa_informational.cpp
  void handle_informational_request(const Message& m, const std::vector<Payload>& inner,
                                    Actions& out);
  void handle_informational_response(const std::vector<Payload>& inner, Timestamp now,
                                     Actions& out);
  void send_liveness_check(Timestamp now, Actions& out);

  // --- ike_sa_rekey.cpp
  ChildSa* find_child(uint32_t unique_id);
  const ChildConfig* child_config(const std::string& name) const;
  // Sends (or queues) the CREATE_CHILD_SA request for `r`, with a KE of `group` if not NONE.
  bool send_rekey_request(RekeyRequest r, DhGroup group, Timestamp now, Actions& out);
  void handle_create_child_request(const std::vector<Payload>& inner, uint32_t message_id,
                                   Actions& out);
  void handle_create_child_response(const std::vector<Payload>& inner, Timestamp now, Actions& out);
  // Sends an INFORMATIONAL DELETE for the CHILD_SA; it leaves the data plane once the peer
  // confirms (retire_confirmed) or after a grace period (retire_expired).
  void delete_child(uint32_t unique_id, const std::string& why, Timestamp now, Actions& out);
  void retire_confirmed(const std::vector<Payload>& response, Actions& out);
  void retire_expired(Timestamp now, Actions& out);

  // --- ike_sa_srflx.cpp: refreshing the server-reflexive endpoint (IKE-ME, ikeme extension)
  // A registration behind a NAT with ConnectionConfig::srflx_refresh set.
  bool refreshes_server_reflexive() const;
  // Client: the query notify for an INFORMATIONAL request (none unless a mediation SA we
  // initiated from behind a NAT); remembers when it was sent.
  std::vector<Payload> server_reflexive_query(Timestamp now);
  void send_server_reflexive_query(Timestamp now, Actions& out);
  // Server: the answer to a query in an INFORMATIONAL request, appended to `resp`.
  void answer_server_reflexive_query(const std::vector<Payload>& inner, std::vector<Payload>& resp,
                                     Actions& out) const;
  // Client: the server's answer; a new endpoint is logged and reported to the hooks.
  void take_server_reflexive_answer(const std::vector<Payload>& inner, Timestamp now, Actions& out);

  // --- ike_sa_mediation.cpp
  void handle_me_connect_request(const Message& m, const std::vector<Payload>& inner, Timestamp now,
                                 Actions& out);
  void handle_me_connect_response(const std::vector<Payload>& inner, Timestamp now, Actions& out);
  void send_queued(Timestamp now, Actions& out);
  // A fresh or (EngineConfig::ke_reuse_lifetime) reused key exchange for `group`.
  Result<std::shared_ptr<crypto::KeyExchange>, crypto::CryptoError> make_key_exchange(
      DhGroup group, Timestamp now);

  uint32_t id_;
  SaContext ctx_;
  bool initiator_;
  State state_ = State::Connecting;
  std::shared_ptr<const ConnectionConfig> conn_;
  std::vector<std::shared_ptr<const ConnectionConfig>> candidates_;  // responder, before IKE_AUTH
  const ChildConfig* child_cfg_ = nullptr;  // initiator: the CHILD_SA to create in IKE_AUTH

  uint64_t spi_i_ = 0, spi_r_ = 0;
  Endpoint local_, remote_;
  bool nat_local_ = false, nat_remote_ = false;  // a NAT in front of us / of the peer
  bool nat_fake_ = false;  // encap: yes faked NAT detection (UDP encapsulation without a NAT)
  bool peer_fragmentation_ = false;
  std::vector<crypto::HashAlgorithm> peer_hashes_;  // the peer's SIGNATURE_HASH_ALGORITHMS

  // IKE_SA_INIT
  std::shared_ptr<crypto::KeyExchange> ke_;  // shared when the private value is reused
  Bytes ke_peer_public_;
  Bytes ni_, nr_, cookie_;
  Bytes init_request_, init_response_;          // as sent/received, for AUTH
  std::vector<Bytes> init_response_datagrams_;  // responder: cached for retransmits
  Proposal ike_proposal_;
  IkeAlgorithms algorithms_;
  std::optional<crypto::Prf> prf_;
  crypto::IkeSaKeys keys_;
  std::unique_ptr<crypto::SkCipher> cipher_in_, cipher_out_;
  unsigned init_retries_ = 0;              // COOKIE and INVALID_KE_PAYLOAD restarts
  bool keys_pending_ = false;              // a KeyExchangeJob is out (defer_key_exchange)
  std::vector<DeferredMessage> deferred_;  // what arrived meanwhile

  // IKE_AUTH
  Identity remote_id_;
  uint32_t pending_child_spi_ = 0;
  std::vector<TrafficSelector> pending_tsi_, pending_tsr_;
  std::vector<ChildSa> children_;
  std::deque<RekeyRequest> rekeys_;
  std::vector<RetiringChild> retiring_;
  // CHILD_SAs to rekey again later (the peer answered TEMPORARY_FAILURE), by unique id.
  std::vector<std::pair<uint32_t, Timestamp>> rekey_retries_;

  // Virtual IPs
  struct PoolLease {
    std::string pool;
    IpAddress address;
  };
  std::vector<IpAddress> local_vips_, local_dns_;  // the peer's CFG_REPLY
  std::vector<PoolLease> remote_vips_;             // what we assigned to the peer

  // Message IDs, retransmission, liveness
  uint32_t next_request_id_ = 0;
  uint32_t expected_request_id_ = 0;
  std::optional<Outstanding> outstanding_;
  std::vector<std::pair<ExchangeType, std::vector<Payload>>> queued_requests_;
  std::optional<std::pair<uint32_t, std::vector<Bytes>>> last_response_;
  uint32_t current_request_id_ = UINT32_MAX;  // the request last_request_raw_ belongs to
  std::vector<Bytes> last_request_raw_;       // its datagrams as received (fragments: several)
  ParseError malformed_;                      // why the last opened message was malformed
  FragmentAssembler fragments_;
  std::optional<std::pair<uint32_t, bool>> fragments_for_;  // (message ID, response)
  Timestamp created_{0};
  Timestamp last_inbound_{0};
  Timestamp last_outbound_{0};
  bool failed_ = false;
  bool was_established_ = false;
  bool initial_contact_ = false;       // responder: the peer sent INITIAL_CONTACT
  bool send_initial_contact_ = false;  // initiator: we send it
  // IKE-ME
  // Initiator: where the request being answered came from, when not from remote_.
  std::optional<std::pair<Endpoint, Endpoint>> request_path_;
  std::optional<Endpoint> server_reflexive_;
  Timestamp last_srflx_query_{0};
  bool srflx_answered_ = false;
  Bytes connect_id_;
};

}  // namespace ikeme::ike
