#pragma once
// The sans-IO mediation server: the IKE engine with the Registry as its MediationHooks, the
// per-source-address limit on IKE_SA_INIT requests in front of it, and the application of the
// Registry's queued commands (relays, callbacks, deletions) after each engine call. The daemon
// (mediator/daemon.*) and the tests feed it datagrams and time exactly like an IkeEngine.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ike/crypto/random.hpp"
#include "ike/sa/engine.hpp"
#include "mediator/core/registry.hpp"

namespace ikeme::mediator {

struct PeerInfo {
  std::string pseudonym;
  uint32_t sa_id = 0;
  ike::Endpoint endpoint;  // the address:port the server sees (server-reflexive)
  ike::Duration registered_for{0};
};

class MediationServer {
 public:
  // `engine` holds the server's connections (mediation: yes), its credentials and limits; the
  // directory's PSKs and pubkey pseudonyms are added to it (engine_config_with).
  MediationServer(ike::EngineConfig engine, Directory directory, Limits limits,
                  ike::crypto::Rng& rng);
  MediationServer(const MediationServer&) = delete;
  MediationServer& operator=(const MediationServer&) = delete;

  void handle_datagram(ike::Endpoint local, ike::Endpoint remote, ByteView datagram,
                       ike::Timestamp now, ike::Actions& out);
  std::optional<ike::Timestamp> next_timeout() const;
  void handle_timeout(ike::Timestamp now, ike::Actions& out);
  // A KeyExchangeJob's result (engine.defer_key_exchange; see IkeEngine::complete_key_exchange).
  void complete_key_exchange(const ike::KeyExchangeJob& job,
                             Result<Bytes, ike::crypto::CryptoError> shared, ike::Timestamp now,
                             ike::Actions& out);
  void terminate_all(ike::Timestamp now, ike::Actions& out);

  // New server settings and/or directory, atomically: the engine's secrets follow the directory,
  // registrations of removed pseudonyms are closed.
  void reload(ike::EngineConfig engine, Directory directory, Limits limits, ike::Timestamp now,
              ike::Actions& out);

  std::vector<PeerInfo> list_peers(ike::Timestamp now) const;
  const MediatorStats& stats() const { return registry_.stats(); }
  const Registry& registry() const { return registry_; }
  ike::IkeEngine& engine() { return engine_; }
  const ike::IkeEngine& engine() const { return engine_; }

  // The engine configuration actually run: `base` plus the directory's credentials.
  static ike::EngineConfig engine_config_with(ike::EngineConfig base, const Directory& directory);

 private:
  bool admit(ike::Endpoint local, ike::Endpoint remote, ByteView datagram, ike::Timestamp now,
             ike::Actions& out);
  void apply_commands(ike::Timestamp now, ike::Actions& out);

  Registry registry_;
  ike::IkeEngine engine_;
  std::map<IpAddress, TokenBucket> sources_;  // IKE_SA_INIT requests per source address
};

}  // namespace ikeme::mediator
