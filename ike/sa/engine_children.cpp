// IkeEngine: CHILD_SA lifetimes, routed to the IKE SA that holds the CHILD_SA
// (ike_sa_rekey.cpp does the work).

#include "ike/sa/engine.hpp"

namespace ikeme::ike {

Status<std::string> IkeEngine::rekey_child(uint32_t unique_id, Timestamp now, Actions& out) {
  for (auto& [spi, sa] : sas_) {
    if (sa->dead() || !sa->has_child(unique_id)) continue;
    auto st = sa->rekey_child(unique_id, now, out);
    schedule(spi);
    reap_one(spi, now, out);
    return st;
  }
  return Unexpected{"no CHILD_SA with id " + std::to_string(unique_id)};
}

bool IkeEngine::expire_replaced_child(uint32_t unique_id, Timestamp now, Actions& out) {
  for (auto& [spi, sa] : sas_) {
    if (sa->dead() || !sa->has_child(unique_id)) continue;
    const bool replaced = sa->expire_replaced_child(unique_id, now, out);
    schedule(spi);
    reap_one(spi, now, out);
    return replaced;
  }
  return false;
}

}  // namespace ikeme::ike
