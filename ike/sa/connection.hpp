#pragma once
// What the IKE engine needs to know about configured connections and secrets. Plain data: the
// YAML layer (config/) builds it, tests build it by hand.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/crypto/key_exchange.hpp"
#include "ike/crypto/signature.hpp"
#include "ike/pki/certificate.hpp"
#include "ike/pki/trust_store.hpp"
#include "ike/sa/address_pool.hpp"
#include "ike/sa/endpoint.hpp"
#include "ike/sa/identity.hpp"

namespace ikeme::ike {

enum class AuthMethodConfig { Psk, Pubkey };
enum class ChildMode { Tunnel, Transport };
enum class StartAction { None, Start, Trap };
enum class DpdAction { Clear, Restart, Trap };

struct AuthConfig {
  AuthMethodConfig method = AuthMethodConfig::Psk;
  // %any: for a local Pubkey side, the certificate's subject DN; for a local PSK side or raw
  // public keys, the IP address. A configured local id must be vouched for by the certificate.
  Identity id = Identity::any();
  // Pubkey, local side: our end-entity certificate, the intermediates sent with it, and its key.
  // Shared so that configurations stay copyable.
  std::shared_ptr<const pki::Certificate> cert;
  std::vector<std::shared_ptr<const pki::Certificate>> intermediates;
  std::shared_ptr<const crypto::PrivateKey> key;
  // Pubkey, remote side: the CAs the peer's chain must reach (null: EngineConfig::trust_store),
  // and optionally the one CA it must end at (compared by subject).
  std::shared_ptr<const pki::TrustStore> trust;
  std::shared_ptr<const pki::Certificate> ca;
  // Pubkey with raw public keys (swanctl `pubkeys`) instead of certificates. Remote side: the
  // peer's AUTH must verify with one of them; no certificate is asked for or looked at, and the
  // peer's identity is only compared with `id`. Local side: the one public key whose private
  // half `key` is; no CERT payload is sent. Empty: certificates.
  std::vector<std::shared_ptr<const crypto::PublicKey>> pubkeys;
};

struct ChildConfig {
  std::string name;
  std::vector<TrafficSelector> local_ts;   // empty = the IKE SA's local address
  std::vector<TrafficSelector> remote_ts;  // empty = the IKE SA's remote address
  std::vector<Proposal> esp_proposals;
  ChildMode mode = ChildMode::Tunnel;
  StartAction start_action = StartAction::None;
  DpdAction dpd_action = DpdAction::Clear;
  uint64_t rekey_time_s = 3600;  // carried to the data plane as lifetimes
  uint64_t life_time_s = 3960;
};

struct ConnectionConfig {
  std::string name;
  std::vector<IpAddress> local_addrs;   // empty = any
  std::vector<IpAddress> remote_addrs;  // empty = any (responder only)
  uint16_t remote_port = 500;
  std::vector<Proposal> proposals;  // IKE
  AuthConfig local;
  AuthConfig remote;
  std::vector<ChildConfig> children;
  Duration dpd_delay{0};  // 0 = no liveness checks
  Duration dpd_timeout{150000};
  unsigned keyingtries = 1;  // 0 = forever
  bool send_initial_contact = true;
  bool fragmentation = true;
  // swanctl's encap: fake NAT detection (a random NAT_DETECTION_SOURCE_IP) so that the peer
  // and we use the NAT-T port and ESP-in-UDP even without a NAT (the userspace data plane needs
  // it; the daemon turns it on for every connection then).
  bool encap = false;
  // Virtual IPs (configuration payload). Initiator: the addresses to ask for, one per family;
  // 0.0.0.0 / :: ask for any. Responder: the names of EngineConfig::pools to assign from, tried
  // in order for each family the peer asks for.
  std::vector<IpAddress> vips;
  std::vector<std::string> pools;
  // IKE-ME
  bool mediation = false;  // a mediation connection (to or as a mediation server)
  // A mediation connection we initiate from behind a NAT: how often to ask the server for our
  // server-reflexive endpoint again (N(ME_ENDPOINT, family 0, SRFLX) in an INFORMATIONAL
  // request, an ikeme extension; liveness checks carry it too), so that a NAT rebinding is
  // noticed. 0 = only in IKE_AUTH, as strongSwan. On a mediation server's connection, 0 answers
  // such queries empty (as strongSwan does), anything else with the endpoint.
  Duration srflx_refresh{60000};
  // A mediated connection (peer side): the mediation connection that finds the peer, and the
  // peer's pseudonym there (IDp of ME_CONNECT). Its IKE SA goes directly to the peer.
  std::string mediated_by;
  std::optional<Identity> mediation_peer;
};

struct SharedSecret {
  std::vector<Identity> ids;  // the secret applies between any two of these (or to one alone)
  Bytes secret;
};

struct RetransmitConfig {
  Duration timeout{4000};  // strongSwan's retransmit_timeout
  double base = 1.8;       // strongSwan's retransmit_base
  unsigned tries = 5;      // retransmissions before giving up
};

using KeyExchangeFactory =
    std::function<Result<std::unique_ptr<crypto::KeyExchange>, crypto::CryptoError>(DhGroup,
                                                                                    crypto::Rng&)>;

// A fresh DH private value for `group` from `factory`, or from crypto::KeyExchange::create.
Result<std::unique_ptr<crypto::KeyExchange>, crypto::CryptoError> make_fresh_key_exchange(
    const KeyExchangeFactory& factory, DhGroup group, crypto::Rng& rng);

struct EngineConfig {
  std::vector<ConnectionConfig> connections;
  std::vector<SharedSecret> ike_secrets;
  uint16_t port = 500;
  uint16_t port_nat_t = 4500;
  RetransmitConfig retransmit;
  unsigned cookie_threshold = 10;   // half-open SAs before cookies are demanded (RFC 7296 §2.6)
  unsigned half_open_limit = 1000;  // half-open SAs beyond which new ones are dropped
  Duration half_open_timeout{30000};
  Duration keepalive_interval{20000};  // NAT keepalives when behind a NAT (RFC 3948)
  size_t fragment_size = 1280;         // IKE fragmentation threshold (RFC 7383)
  // Trusted CAs (and CRLs) for peers authenticating with certificates, unless a connection's
  // remote AuthConfig names its own.
  std::shared_ptr<const pki::TrustStore> trust_store;
  // Virtual IP pools that connections name in `pools`.
  std::vector<PoolConfig> pools;
  // RFC 7296 §2.12: reuse one DH private value per group for this long (0 = a fresh one per SA)
  // and for at most this many SAs (ike/sa/key_exchange_pool.hpp).
  Duration ke_reuse_lifetime{0};
  unsigned ke_reuse_max_uses = 1000;
  // Where fresh DH private values come from; empty = crypto::KeyExchange::create. A seam for
  // tests and load generators (tests/bench/mediator_load wraps the client's values to remember
  // its own shared secrets) and for the mediator, which hands out pre-generated single-use key
  // pairs (mediator/key_pair_refiller.hpp); ikeme-peer leaves it empty.
  KeyExchangeFactory key_exchange_factory;
  // Responder SAs hand their DH shared secret to the caller as a KeyExchangeJob (actions.hpp)
  // instead of computing it in the engine call; messages for the SA that arrive before
  // IkeEngine::complete_key_exchange are kept and handled then. The mediator daemon sets it and
  // computes the jobs on libuv's thread pool; the initiator side always computes in place.
  bool defer_key_exchange = false;
};

// The PSK for a pair of identities, strongSwan's way: a secret whose id list names both (or
// names one of them, or no identity at all as a wildcard), the most specific match winning.
const SharedSecret* find_psk(const std::vector<SharedSecret>& secrets, const Identity& local,
                             const Identity& remote);

}  // namespace ikeme::ike
