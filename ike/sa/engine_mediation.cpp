// IkeEngine's support for a mediation server (IKE-ME): the hooks get established mediation SAs,
// and the server sends its own requests (relayed ME_CONNECTs, callbacks) and deletes replaced
// registrations through these calls, after the engine call that triggered them returned.

#include "ike/sa/engine.hpp"

namespace ikeme::ike {

void IkeEngine::mediation_established(IkeSa& sa, Timestamp now, Actions& out) {
  if (!hooks_ || sa.initiator() || !sa.connection() || !sa.connection()->mediation) return;
  sa.release_handshake_state();
  hooks_->on_mediation_established(sa, now, out);
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

const IkeSa* IkeEngine::find_sa(uint64_t spi) const {
  auto it = sas_.find(spi);
  return it == sas_.end() ? nullptr : it->second.get();
}

}  // namespace ikeme::ike
