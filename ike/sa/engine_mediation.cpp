// IkeEngine's support for a mediation server (IKE-ME): the hooks get established mediation SAs,
// and the server sends its own requests (relayed ME_CONNECTs, callbacks) and deletes replaced
// registrations through these calls, after the engine call that triggered them returned.

#include "ike/sa/engine.hpp"

namespace ikeme::ike {

void IkeEngine::mediation_established(IkeSa& sa, Timestamp now, Actions& out) {
  if (!hooks_ || !sa.connection()) return;
  if (sa.initiator() || !sa.connection()->mediation) {
    hooks_->on_established(sa, now, out);  // the client role
    return;
  }
  sa.release_handshake_state();
  hooks_->on_mediation_established(sa, now, out);
}

Result<uint32_t, std::string> IkeEngine::initiate_mediated(const std::string& connection,
                                                           const std::string& child, Endpoint local,
                                                           Endpoint remote, Bytes connect_id,
                                                           Timestamp now, Actions& out) {
  auto found = find_connection(connection);
  if (!found) return Unexpected{found.error()};
  std::shared_ptr<const ConnectionConfig> conn = *found;
  if (conn->mediated_by.empty())
    return Unexpected{"connection '" + connection + "' is not mediated"};
  if (conn->proposals.empty())
    return Unexpected{"connection '" + connection + "' has no proposals"};
  auto child_cfg = find_child(*conn, child);
  if (!child_cfg) return Unexpected{child_cfg.error()};
  bool only = true;
  for (const auto& [spi, other] : sas_)
    if (!other->dead() && other->connection_name() == conn->name) {
      only = false;
      break;
    }
  uint32_t id = next_sa_id_++;
  return adopt_initiated(IkeSa::initiate(id, conn, *child_cfg, local, remote, only, context(), now,
                                         out, std::move(connect_id)));
}

bool IkeEngine::admit_mediated_init(const Message& m, const Endpoint& local, const Endpoint& remote,
                                    Timestamp now, Actions& out) {
  const auto* n = m.find_notify(NotifyType::ME_CONNECTID);
  if (!n) return true;  // not a mediated connection's IKE_SA_INIT
  if (hooks_ && hooks_->accept_mediated_init(n->data, local, remote, now, out)) return true;
  out.log(Subsystem::MED, 1, 0, "",
          "IKE_SA_INIT with an unknown ME_CONNECTID from " + remote.to_string() + " dropped");
  return false;
}

bool IkeEngine::send_request(uint64_t spi, ExchangeType exchange, std::vector<Payload> inner,
                             Timestamp now, Actions& out) {
  auto it = sas_.find(spi);
  if (it == sas_.end() || it->second->dead()) return false;
  bool ok = it->second->queue_request(exchange, std::move(inner), now, out);
  schedule(spi);
  return ok;
}

bool IkeEngine::terminate_sa(uint64_t spi, Timestamp now, Actions& out) {
  auto it = sas_.find(spi);
  if (it == sas_.end()) return false;
  it->second->terminate(now, out);
  schedule(spi);
  reap_one(spi, now, out);
  return true;
}

bool IkeEngine::abandon_sa(uint64_t spi, const std::string& why, Timestamp now, Actions& out) {
  auto it = sas_.find(spi);
  if (it == sas_.end() || it->second->dead()) return false;
  it->second->destroy_silently(out, why);
  schedule(spi);
  reap_one(spi, now, out);
  return true;
}

bool IkeEngine::terminate_sa_via(uint64_t spi, const Endpoint& local, const Endpoint& remote,
                                 Timestamp now, Actions& out) {
  auto it = sas_.find(spi);
  if (it == sas_.end()) return false;
  it->second->move_to(local, remote, out);
  return terminate_sa(spi, now, out);
}

const IkeSa* IkeEngine::find_sa(uint64_t spi) const {
  auto it = sas_.find(spi);
  return it == sas_.end() ? nullptr : it->second.get();
}

}  // namespace ikeme::ike
