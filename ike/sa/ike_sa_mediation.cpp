// IKE-ME on an established IKE SA: ME_CONNECT requests (exchange 240) and responses, and the queue
// of requests we originate while another one is outstanding (a mediation server relays to a peer
// whose SA may be busy). The registration and relay logic is not here: a mediation server plugs
// it in through MediationHooks (mediation_hooks.hpp); without hooks, ME_CONNECT requests get an
// empty response as before.

#include "ike/codec/me_endpoint.hpp"
#include "ike/sa/ike_sa.hpp"

namespace ikeme::ike {

Result<std::shared_ptr<crypto::KeyExchange>, crypto::CryptoError> IkeSa::make_key_exchange(
    DhGroup group, Timestamp now) {
  const KeyExchangeFactory& factory = ctx_.config->key_exchange_factory;
  if (ctx_.ke_pool) return ctx_.ke_pool->get(group, *ctx_.rng, now, factory);
  auto ke = make_fresh_key_exchange(factory, group, *ctx_.rng);
  if (!ke) return Unexpected{ke.error()};
  return std::shared_ptr<crypto::KeyExchange>(std::move(ke.value()));
}

void IkeSa::handle_me_connect_request(const Message& m, const std::vector<Payload>& inner,
                                      Timestamp now, Actions& out) {
  const uint32_t mid = m.header.message_id;
  // Either role: a server's hooks answer its clients, a client's hooks what the server relays.
  if (state_ != State::Established || !conn_ || !conn_->mediation || !ctx_.mediation) {
    log(out, 1, "ME_CONNECT request not handled, answering empty");
    send_response(ExchangeType::ME_CONNECT, mid, {}, out);
    return;
  }
  auto response = ctx_.mediation->on_me_connect(*this, inner, now, out);
  send_response(ExchangeType::ME_CONNECT, mid, std::move(response), out);
}

void IkeSa::handle_me_connect_response(const std::vector<Payload>& inner, Timestamp now,
                                       Actions& out) {
  for (const Payload& p : inner)
    if (const auto* n = p.as<NotifyPayload>(); n && n->type == NotifyType::ME_CONNECT_FAILED)
      log(out, 1, "peer answered ME_CONNECT with ME_CONNECT_FAILED", Subsystem::MED);
  if (ctx_.mediation && conn_ && conn_->mediation && initiator_)
    ctx_.mediation->on_me_connect_response(*this, inner, now, out);
}

bool IkeSa::queue_request(ExchangeType exchange, std::vector<Payload> inner, Timestamp now,
                          Actions& out) {
  if (state_ != State::Established) return false;
  if (!outstanding_) {
    send_request(exchange, std::move(inner), now, out);
    return true;
  }
  if (queued_requests_.size() >= kMaxQueuedRequests) {
    log(out, 1,
        name(exchange) + " request dropped: " + std::to_string(kMaxQueuedRequests) +
            " requests already wait for the outstanding one",
        Subsystem::MED);
    return false;
  }
  queued_requests_.emplace_back(exchange, std::move(inner));
  return true;
}

void IkeSa::send_queued(Timestamp now, Actions& out) {
  if (outstanding_ || queued_requests_.empty() || state_ != State::Established) return;
  auto [exchange, inner] = std::move(queued_requests_.front());
  queued_requests_.erase(queued_requests_.begin());
  send_request(exchange, std::move(inner), now, out);
}

void IkeSa::release_handshake_state() {
  // AUTH is computed; a retransmitted IKE_SA_INIT is no longer answered once established.
  Bytes().swap(init_request_);
  Bytes().swap(init_response_);
  std::vector<Bytes>().swap(init_response_datagrams_);
  Bytes().swap(ke_peer_public_);
  Bytes().swap(cookie_);
  ke_.reset();
  std::vector<std::shared_ptr<const ConnectionConfig>>().swap(candidates_);
  fragments_.reset();
}

}  // namespace ikeme::ike
