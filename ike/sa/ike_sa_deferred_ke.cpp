// EngineConfig::defer_key_exchange: a responder answers IKE_SA_INIT at once (the response does
// not depend on the shared secret) and leaves the Diffie-Hellman computation, the dominant cost
// of an IKE SA, to its caller as a KeyExchangeJob, which a daemon can run on another core. The
// keys exist only when the job comes back; messages that arrive before are kept, not dropped,
// since the initiator's IKE_AUTH request may well be faster than the job.

#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {

bool IkeSa::request_key_exchange(Actions& out) {
  // A KeyExchange is not thread-safe. One that only this SA holds is handed over; one shared
  // with other SAs (ke_reuse: the pool and other SAs hold it too) gets the job a duplicate.
  std::shared_ptr<crypto::KeyExchange> job_ke;
  if (ke_.use_count() == 1) {
    job_ke = std::move(ke_);
  } else {
    auto copy = ke_->duplicate(*ctx_.rng);
    if (!copy) {
      fail(out, "key exchange failed: " + copy.error().detail);
      return false;
    }
    job_ke = std::move(copy.value());
  }
  out.key_exchanges.push_back(KeyExchangeJob{our_spi(), id_, std::move(job_ke), ke_peer_public_});
  ke_.reset();  // the job holds the private value now
  keys_pending_ = true;
  return true;
}

bool IkeSa::defer_message(Endpoint local, Endpoint remote, ByteView raw) {
  if (deferred_.size() >= kMaxDeferredMessages) return false;
  deferred_.push_back(DeferredMessage{local, remote, Bytes(raw.begin(), raw.end())});
  return true;
}

std::vector<IkeSa::DeferredMessage> IkeSa::complete_key_exchange(
    Result<Bytes, crypto::CryptoError> shared, Actions& out) {
  keys_pending_ = false;
  std::vector<DeferredMessage> kept;
  kept.swap(deferred_);
  if (dead()) return {};
  if (!shared) {
    fail(out, "key exchange failed: " + shared.error().detail);
    return {};
  }
  if (!derive_keys_from(*shared, out)) return {};
  return kept;
}

}  // namespace ikeme::ike
