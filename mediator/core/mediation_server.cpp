#include "mediator/core/mediation_server.hpp"

#include "ike/codec/framing.hpp"
#include "ike/codec/message.hpp"

namespace ikeme::mediator {

using ike::Actions;
using ike::Subsystem;
using ike::Timestamp;

MediationServer::MediationServer(ike::EngineConfig engine, Directory directory, Limits limits,
                                 ike::crypto::Rng& rng)
    : registry_(Directory(directory), limits),
      engine_(engine_config_with(std::move(engine), directory), rng) {
  engine_.set_mediation_hooks(&registry_);
}

ike::EngineConfig MediationServer::engine_config_with(ike::EngineConfig base,
                                                      const Directory& directory) {
  // The server's own connections are templates: a pubkey pseudonym gets a connection of its own
  // (remote auth pubkey, remote id = the pseudonym) ahead of them, since IKE_AUTH picks the
  // connection by identity; PSK pseudonyms authenticate through the catch-all connections with
  // their secret, and a pseudonym without either cannot register at all.
  std::vector<ike::ConnectionConfig> conns;
  for (const ike::ConnectionConfig& tmpl : base.connections) {
    if (!tmpl.mediation) continue;
    for (const DirectoryEntry& e : directory.entries()) {
      if (e.credential != CredentialKind::Pubkey) continue;
      ike::ConnectionConfig c = tmpl;
      c.name = tmpl.name + "/" + e.pseudonym;
      c.remote.method = ike::AuthMethodConfig::Pubkey;
      c.remote.id = e.identity;
      conns.push_back(std::move(c));
    }
    ike::ConnectionConfig c = tmpl;
    c.remote.method = ike::AuthMethodConfig::Psk;
    c.remote.id = ike::Identity::any();
    conns.push_back(std::move(c));
  }
  base.connections = std::move(conns);
  for (const DirectoryEntry& e : directory.entries())
    if (e.credential == CredentialKind::Psk) base.ike_secrets.push_back({{e.identity}, e.psk});
  return base;
}

bool MediationServer::admit(ike::Endpoint local, ike::Endpoint remote, ByteView datagram,
                            Timestamp now, Actions& out) {
  // Only new IKE SAs are screened here: they cost a key exchange. Everything else is the
  // engine's (unknown SPIs are cheap and rate limited there).
  ByteView bytes = datagram;
  if (local.port != engine_.config().port) {
    ike::Framed f = ike::classify_nat_t(datagram);
    if (f.kind != ike::DatagramKind::Ike) return true;
    bytes = f.payload;
  }
  if (bytes.size() < ike::kHeaderSize) return true;
  auto h = ike::parse_header(bytes);
  if (!h || h->exchange != ike::ExchangeType::IKE_SA_INIT || h->response() || h->spi_r != 0)
    return true;
  MediatorStats& stats = registry_.stats();
  const Limits& limits = registry_.limits();
  auto [bucket, fresh] = sources_.try_emplace(remote.address);
  if (fresh && sources_.size() > limits.max_tracked_sources) {
    // Forget the addresses whose buckets are full again: they would start full anyway.
    for (auto it = sources_.begin(); it != sources_.end();)
      it = it->second.full(limits.inits_per_second, limits.inits_burst, now) && it != bucket
               ? sources_.erase(it)
               : std::next(it);
  }
  if (!bucket->second.take(limits.inits_per_second, limits.inits_burst, now)) {
    stats.refuse(Refusal::SourceRateLimited);
    out.log(Subsystem::MED, 1, 0, "",
            "IKE_SA_INIT from " + remote.to_string() + " dropped (source_rate_limited): more " +
                "than " + std::to_string(limits.inits_per_second) + " requests/s");
    return false;
  }
  auto m = ike::parse_message(bytes);
  if (m && !m->find_notify(ike::NotifyType::ME_MEDIATION)) {
    // The engine answers NO_PROPOSAL_CHOSEN (it has only mediation connections); counted here.
    stats.refuse(Refusal::NoMediation);
    out.log(Subsystem::MED, 1, 0, "",
            "IKE_SA_INIT from " + remote.to_string() +
                " refused (no_me_mediation): this server accepts mediation connections only");
  }
  return true;
}

void MediationServer::handle_datagram(ike::Endpoint local, ike::Endpoint remote, ByteView datagram,
                                      Timestamp now, Actions& out) {
  if (!admit(local, remote, datagram, now, out)) return;
  engine_.handle_datagram(local, remote, datagram, now, out);
  apply_commands(now, out);
}

void MediationServer::complete_key_exchange(const ike::KeyExchangeJob& job,
                                            Result<Bytes, ike::crypto::CryptoError> shared,
                                            Timestamp now, Actions& out) {
  // The IKE_AUTH kept meanwhile may register the peer now: the registry's commands follow.
  engine_.complete_key_exchange(job, std::move(shared), now, out);
  apply_commands(now, out);
}

void MediationServer::apply_commands(Timestamp now, Actions& out) {
  // Applying a command can call the hooks again (a deletion unregisters): loop until quiet.
  for (int round = 0; round < 4; ++round) {
    auto commands = registry_.take_commands();
    if (commands.empty()) return;
    for (Command& c : commands) {
      if (c.kind == Command::Kind::Terminate) {
        engine_.terminate_sa(c.spi, now, out);
        continue;
      }
      if (!engine_.send_request(c.spi, ike::ExchangeType::ME_CONNECT, std::move(c.payloads), now,
                                out)) {
        registry_.stats().refuse(Refusal::RelayFailed);
        out.log(Subsystem::MED, 1, 0, "",
                "ME_CONNECT to '" + c.pseudonym + "' not sent: its IKE SA cannot take it");
      }
    }
  }
}

std::optional<Timestamp> MediationServer::next_timeout() const {
  auto e = engine_.next_timeout();
  auto r = registry_.next_timeout();
  if (e && r) return std::min(*e, *r);
  return e ? e : r;
}

void MediationServer::handle_timeout(Timestamp now, Actions& out) {
  engine_.handle_timeout(now, out);
  registry_.expire(now, out);
  apply_commands(now, out);
}

void MediationServer::terminate_all(Timestamp now, Actions& out) {
  engine_.terminate_all(now, out);
  apply_commands(now, out);
}

void MediationServer::reload(ike::EngineConfig engine, Directory directory, Limits limits,
                             Timestamp now, Actions& out) {
  engine_.reload(engine_config_with(std::move(engine), directory));
  registry_.set_limits(limits);
  registry_.set_directory(std::move(directory), now, out);
  apply_commands(now, out);
}

std::vector<PeerInfo> MediationServer::list_peers(Timestamp now) const {
  std::vector<PeerInfo> peers;
  for (const auto& [pseudonym, reg] : registry_.registrations()) {
    PeerInfo p{pseudonym, reg.sa_id, {}, now - reg.registered};
    if (const ike::IkeSa* sa = engine_.find_sa(reg.spi)) p.endpoint = sa->remote();
    peers.push_back(std::move(p));
  }
  return peers;
}

}  // namespace ikeme::mediator
