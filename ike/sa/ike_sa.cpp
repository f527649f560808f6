// IkeSa plumbing: headers, protection and fragmentation, message IDs, retransmission, timers.

#include <algorithm>
#include <cmath>

#include "ike/codec/framing.hpp"
#include "ike/codec/summary.hpp"
#include "ike/crypto/protected_payload.hpp"
#include "ike/sa/ike_sa.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::ike {

const char* name(Subsystem s) {
  switch (s) {
    case Subsystem::ENC:
      return "ENC";
    case Subsystem::NET:
      return "NET";
    case Subsystem::IKE:
      return "IKE";
    case Subsystem::CFG:
      return "CFG";
    case Subsystem::CHD:
      return "CHD";
    case Subsystem::KNL:
      return "KNL";
    case Subsystem::MED:
      return "MED";
    case Subsystem::ICE:
      return "ICE";
  }
  return "???";
}

IkeSa::IkeSa(uint32_t id, SaContext ctx, bool initiator)
    : id_(id), ctx_(ctx), initiator_(initiator), fragments_(FragmentLimits{}) {}

IkeSa::~IkeSa() {
  keys_.wipe();
}

const std::string& IkeSa::connection_name() const {
  static const std::string kNone = "(unmatched)";
  if (conn_) return conn_->name;
  if (!candidates_.empty()) return candidates_.front()->name;
  return kNone;
}

void IkeSa::log(Actions& out, int level, std::string text, Subsystem s) const {
  out.log(s, level, id_, connection_name(), std::move(text));
}

Header IkeSa::header(ExchangeType exchange, bool response, uint32_t message_id) const {
  Header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = exchange;
  h.flags =
      static_cast<uint8_t>((initiator_ ? kFlagInitiator : 0) | (response ? kFlagResponse : 0));
  h.message_id = message_id;
  return h;
}

Bytes IkeSa::frame(Bytes message) const {
  if (local_.port == ctx_.config->port) return message;
  return add_non_esp_marker(message);
}

std::vector<Bytes> IkeSa::protect(ExchangeType exchange, bool response, uint32_t message_id,
                                  const std::vector<Payload>& inner, Actions& out) {
  std::vector<Bytes> datagrams;
  PayloadType first = PayloadType::NONE;
  auto plain = encode_payload_chain(inner, first);
  if (!plain) {
    log(out, 0, "cannot encode message: " + plain.error().detail, Subsystem::ENC);
    return datagrams;
  }
  Message m{header(exchange, response, message_id), {}};
  // RFC 7383 §2.5.1: the limit is on the whole IP datagram.
  const size_t ip_header = remote_.address.is_v4() ? 20 : 40;
  const size_t overhead =
      ip_header + 8 + (local_.port == ctx_.config->port ? 0 : 4) + kHeaderSize + 4;
  size_t whole = overhead + cipher_out_->sealed_size(plain->size());
  bool fragment = peer_fragmentation_ && conn_ && conn_->fragmentation &&
                  exchange != ExchangeType::IKE_SA_INIT && whole > ctx_.config->fragment_size;

  auto seal_one = [&](Payload body_payload, ByteView chunk, size_t body_size) -> bool {
    m.payloads = {std::move(body_payload)};
    auto wire = encode_message(m);
    if (!wire) return false;
    size_t body_offset = wire->size() - body_size;
    auto body = cipher_out_->seal(ByteView(*wire).first(body_offset), chunk,
                                  ctx_.rng->bytes(cipher_out_->iv_size()));
    if (!body) {
      log(out, 0, "encryption failed: " + body.error().detail, Subsystem::ENC);
      return false;
    }
    std::copy(body->begin(), body->end(), wire->begin() + static_cast<long>(body_offset));
    datagrams.push_back(frame(std::move(*wire)));
    return true;
  };

  if (!fragment) {
    size_t body = cipher_out_->sealed_size(plain->size());
    seal_one(Payload{PayloadType::SK, false, EncryptedPayload{first, Bytes(body)}}, *plain, body);
    return datagrams;
  }
  // RFC 7383 §2.5.3: each fragment carries as much plaintext as fits the size limit.
  if (ctx_.config->fragment_size < overhead + 4 + cipher_out_->sealed_size(1)) {
    log(out, 0, "fragment_size " + std::to_string(ctx_.config->fragment_size) + " is too small",
        Subsystem::ENC);
    return datagrams;
  }
  size_t budget = ctx_.config->fragment_size - overhead - 4;  // minus the SKF fragment header
  size_t chunk_size = 0;
  while (cipher_out_->sealed_size(chunk_size + 1) <= budget) ++chunk_size;
  if (chunk_size == 0) return datagrams;
  size_t total = (plain->size() + chunk_size - 1) / chunk_size;
  if (total > 0xffff) return datagrams;
  log(out, 1,
      "splitting IKE message (" + std::to_string(plain->size()) + " bytes) into " +
          std::to_string(total) + " fragments",
      Subsystem::ENC);
  for (size_t i = 0; i < total; ++i) {
    ByteView chunk = ByteView(*plain).subspan(i * chunk_size,
                                              std::min(chunk_size, plain->size() - i * chunk_size));
    size_t body = cipher_out_->sealed_size(chunk.size());
    EncryptedFragmentPayload f{i == 0 ? first : PayloadType::NONE, static_cast<uint16_t>(i + 1),
                               static_cast<uint16_t>(total), Bytes(body)};
    if (!seal_one(Payload{PayloadType::SKF, false, std::move(f)}, chunk, body)) return {};
  }
  return datagrams;
}

void IkeSa::transmit(const std::vector<Bytes>& datagrams, Actions& out) {
  transmit(datagrams, local_, remote_, out);
}

void IkeSa::transmit(const std::vector<Bytes>& datagrams, const Endpoint& local,
                     const Endpoint& remote, Actions& out) {
  for (const Bytes& d : datagrams) out.sends.push_back(SendDatagram{local, remote, d});
  log(out, 2,
      "sending packet: from " + local.to_string() + " to " + remote.to_string() + " (" +
          std::to_string(datagrams.empty() ? 0 : datagrams.front().size()) + " bytes" +
          (datagrams.size() > 1 ? ", " + std::to_string(datagrams.size()) + " fragments" : "") +
          ")",
      Subsystem::NET);
}

void IkeSa::send_request(ExchangeType exchange, std::vector<Payload> inner, Timestamp now,
                         Actions& out) {
  uint32_t mid = next_request_id_++;
  log(out, 1, "generating " + summarize(Message{header(exchange, false, mid), inner}),
      Subsystem::ENC);
  Outstanding o{exchange, mid, protect(exchange, false, mid, inner, out)};
  o.next_send = now + ctx_.config->retransmit.timeout;
  transmit(o.datagrams, out);
  last_outbound_ = now;
  outstanding_ = std::move(o);
}

void IkeSa::send_response(ExchangeType exchange, uint32_t message_id, std::vector<Payload> inner,
                          Actions& out) {
  log(out, 1, "generating " + summarize(Message{header(exchange, true, message_id), inner}),
      Subsystem::ENC);
  auto datagrams = protect(exchange, true, message_id, inner, out);
  // RFC 7296 §2.11: a response goes back where its request came from. A responder follows the
  // peer anyway; an initiator behind a NAT keeps its endpoints but still answers a peer whose
  // NAT rebound (so that its DELETE, for instance, gets its answer).
  if (request_path_)
    transmit(datagrams, request_path_->first, request_path_->second, out);
  else
    transmit(datagrams, out);
  last_response_ = {message_id, std::move(datagrams)};
}

void IkeSa::remember_request(const Header& h, ByteView raw) {
  // Only authenticated datagrams are remembered, so a forged one cannot stand in for the real
  // request when its retransmission arrives.
  if (h.response()) return;
  if (current_request_id_ != h.message_id) last_request_raw_.clear();
  current_request_id_ = h.message_id;
  last_request_raw_.emplace_back(raw.begin(), raw.end());
}

IkeSa::Opened IkeSa::unprotect(const Message& m, ByteView raw, std::vector<Payload>& inner,
                               Actions& out) {
  if (!cipher_in_) {
    log(out, 1, "encrypted message before keys exist, dropped", Subsystem::ENC);
    return Opened::Drop;
  }
  Bytes plain;
  PayloadType first = PayloadType::NONE;
  if (const Payload* sk = m.find(PayloadType::SK)) {
    const auto& body = *sk->as<EncryptedPayload>();
    auto opened = cipher_in_->open(raw, raw.size() - body.data.size());
    if (!opened) {
      log(out, 1,
          name(m.header.exchange) + " message " + std::to_string(m.header.message_id) +
              " dropped: " + opened.error().detail,
          Subsystem::ENC);
      return Opened::Drop;
    }
    plain = std::move(opened.value());
    first = body.first_inner;
    remember_request(m.header, raw);
  } else {
    const Payload* skf = m.find(PayloadType::SKF);
    auto opened = crypto::open_skf(m, raw, *cipher_in_);
    if (!opened) {
      log(out, 1, "fragment dropped: " + opened.error().detail, Subsystem::ENC);
      return Opened::Drop;
    }
    remember_request(m.header, raw);
    std::pair<uint32_t, bool> key{m.header.message_id, m.header.response()};
    if (fragments_for_ != key) {
      fragments_.reset();
      fragments_for_ = key;
    }
    const auto& f = *skf->as<EncryptedFragmentPayload>();
    auto added = fragments_.add(f.number, f.total, f.first_inner, std::move(opened.value()));
    if (added.outcome == FragmentAssembler::Outcome::Rejected)
      log(out, 1, "fragment rejected: " + added.reason, Subsystem::ENC);
    if (added.outcome != FragmentAssembler::Outcome::Complete) return Opened::Drop;
    fragments_for_.reset();
    log(out, 2, "reassembled " + std::to_string(f.total) + " fragments", Subsystem::ENC);
    plain = std::move(added.plaintext);
    first = added.first_inner;
  }
  auto chain = parse_payload_chain(first, plain);
  if (!chain) {
    malformed_ = chain.error();
    log(out, 0,
        "authenticated " + name(m.header.exchange) +
            " message has malformed payloads: " + chain.error().to_string(),
        Subsystem::ENC);
    return Opened::Malformed;
  }
  inner = std::move(chain.value());
  return Opened::Ok;
}

void IkeSa::handle(const Message& m, ByteView raw, Endpoint local, Endpoint remote, Timestamp now,
                   Actions& out) {
  if (dead()) return;
  request_path_.reset();
  const Header& h = m.header;
  if (h.exchange == ExchangeType::IKE_SA_INIT) {
    if (initiator_ && h.response())
      handle_init_response(m, raw, local, remote, now, out);
    else if (!initiator_ && !h.response())
      resend_init_response(out);  // a retransmission
    return;
  }
  if (h.response()) {
    if (!outstanding_ || outstanding_->message_id != h.message_id ||
        outstanding_->exchange != h.exchange) {
      log(out, 2, "unexpected response " + std::to_string(h.message_id) + " dropped");
      return;
    }
  } else if (h.message_id != expected_request_id_) {
    if (last_response_ && h.message_id == last_response_->first) {
      // A retransmitted request (possibly one fragment of it): answer from the cache when the
      // datagram is byte for byte one we already processed, so that no one can make us send
      // by forging a header.
      // With fragments, the one that arrived first stands for the whole retransmission.
      bool seen = !last_request_raw_.empty() && last_request_raw_.front().size() == raw.size() &&
                  std::equal(raw.begin(), raw.end(), last_request_raw_.front().begin());
      if (seen) {
        log(out, 1,
            "received retransmit of request with ID " + std::to_string(h.message_id) +
                ", retransmitting response");
        transmit(last_response_->second, out);
      }
    } else {
      log(out, 1,
          "message ID " + std::to_string(h.message_id) + " out of window (expected " +
              std::to_string(expected_request_id_) + "), dropped");
    }
    return;
  }
  std::vector<Payload> inner;
  if (!m.find(PayloadType::SK) && !m.find(PayloadType::SKF)) {
    log(out, 1, name(h.exchange) + " without encryption dropped", Subsystem::ENC);
    return;
  }
  switch (unprotect(m, raw, inner, out)) {
    case Opened::Ok:
      break;
    case Opened::Drop:
      return;
    case Opened::Malformed:
      if (!h.response()) {
        ++expected_request_id_;
        Bytes data;
        if (malformed_.answer == NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
          data = {malformed_.critical_payload_type};
        NotifyType answer =
            malformed_.answer == kNoNotify ? NotifyType::INVALID_SYNTAX : malformed_.answer;
        send_response(h.exchange, h.message_id, {make_notify(answer, data)}, out);
      }
      fail(out, "peer sent a malformed " + name(h.exchange) + " message");
      return;
  }
  last_inbound_ = now;
  log(out, 1, "parsed " + summarize(Message{h, inner}), Subsystem::ENC);
  // The peer may float to port 4500 or its NAT may rebind: answer where the message came from.
  if (initiator_ && !h.response() && remote != remote_) request_path_.emplace(local, remote);
  if (!initiator_ && remote != remote_) {
    log(out, 1, "remote endpoint changed from " + remote_.to_string() + " to " + remote.to_string(),
        Subsystem::NET);
    remote_ = remote;
    local_ = local;
  }
  if (h.response()) {
    outstanding_.reset();
    switch (h.exchange) {
      case ExchangeType::IKE_AUTH:
        handle_auth_response(inner, now, out);
        break;
      case ExchangeType::INFORMATIONAL:
        handle_informational_response(inner, now, out);
        break;
      case ExchangeType::ME_CONNECT:
        handle_me_connect_response(inner, now, out);
        break;
      case ExchangeType::CREATE_CHILD_SA:
        handle_create_child_response(inner, now, out);
        break;
      default:
        log(out, 1, "response to " + name(h.exchange) + " ignored");
        break;
    }
    send_queued(now, out);
    return;
  }
  ++expected_request_id_;
  switch (h.exchange) {
    case ExchangeType::IKE_AUTH:
      handle_auth_request(m, inner, now, out);
      break;
    case ExchangeType::INFORMATIONAL:
      handle_informational_request(m, inner, out);
      break;
    case ExchangeType::CREATE_CHILD_SA:
      handle_create_child_request(inner, h.message_id, out);
      break;
    case ExchangeType::ME_CONNECT:
      handle_me_connect_request(m, inner, now, out);
      break;
    default:
      log(out, 1, name(h.exchange) + " request not handled, answering empty");
      send_response(h.exchange, h.message_id, {}, out);
      break;
  }
  // Every request is answered: the NAT mapping was just refreshed (RFC 3948 keepalives are for
  // idle mappings only; a responder behind a NAT must not send one right after IKE_AUTH).
  last_outbound_ = now;
}

std::optional<Timestamp> IkeSa::next_timeout() const {
  if (dead()) return std::nullopt;
  std::optional<Timestamp> t;
  auto earliest = [&](Timestamp c) { t = t ? std::min(*t, c) : c; };
  if (outstanding_) {
    earliest(outstanding_->next_send);
    if (outstanding_->give_up.count()) earliest(outstanding_->give_up);
  }
  if (state_ == State::Connecting && !initiator_)
    earliest(created_ + ctx_.config->half_open_timeout);
  if (state_ == State::Established) {
    if (conn_ && conn_->dpd_delay.count() && !outstanding_)
      earliest(last_inbound_ + conn_->dpd_delay);
    if (refreshes_server_reflexive() && !outstanding_)
      earliest(last_srflx_query_ + conn_->srflx_refresh);
    if (nat_local_) earliest(last_outbound_ + ctx_.config->keepalive_interval);
    for (const auto& [child, at] : rekey_retries_) earliest(at);
    for (const RetiringChild& r : retiring_) earliest(r.until);
  }
  return t;
}

void IkeSa::handle_timeout(Timestamp now, Actions& out) {
  if (dead()) return;
  if (state_ == State::Connecting && !initiator_ &&
      now >= created_ + ctx_.config->half_open_timeout) {
    fail(out, "half-open IKE SA timed out after " +
                  std::to_string(ctx_.config->half_open_timeout.count() / 1000) + " s");
    return;
  }
  if (outstanding_) {
    if (outstanding_->give_up.count() && now >= outstanding_->give_up) {
      fail(out, "liveness check timed out after " +
                    std::to_string(conn_->dpd_timeout.count() / 1000) + " s, peer is dead");
      return;
    }
    if (now >= outstanding_->next_send) {
      const RetransmitConfig& rc = ctx_.config->retransmit;
      if (outstanding_->retransmits >= rc.tries) {
        if (state_ == State::Deleting) {
          destroy_silently(out, "no answer to our DELETE; removing the IKE SA anyway");
          return;
        }
        fail(out, "giving up after " + std::to_string(rc.tries) + " retransmits of " +
                      name(outstanding_->exchange) + " request " +
                      std::to_string(outstanding_->message_id));
        return;
      }
      ++outstanding_->retransmits;
      auto wait = std::chrono::duration<double, std::milli>(
          rc.timeout.count() * std::pow(rc.base, outstanding_->retransmits));
      outstanding_->next_send = now + std::chrono::duration_cast<Duration>(wait);
      log(out, 1,
          "retransmit " + std::to_string(outstanding_->retransmits) +
              " of request with message ID " + std::to_string(outstanding_->message_id));
      transmit(outstanding_->datagrams, out);
      last_outbound_ = now;
    }
  }
  if (state_ == State::Established) {
    if (conn_ && conn_->dpd_delay.count() && !outstanding_ &&
        now >= last_inbound_ + conn_->dpd_delay)
      send_liveness_check(now, out);
    if (refreshes_server_reflexive() && !outstanding_ &&
        now >= last_srflx_query_ + conn_->srflx_refresh)
      send_server_reflexive_query(now, out);
    if (nat_local_ && now >= last_outbound_ + ctx_.config->keepalive_interval) {
      out.sends.push_back(SendDatagram{local_, remote_, Bytes{0xFF}});
      last_outbound_ = now;
      log(out, 3, "sending keep alive to " + remote_.to_string(), Subsystem::NET);
    }
    retire_expired(now, out);
    // Rekeyings the peer asked us to try again (TEMPORARY_FAILURE).
    std::vector<uint32_t> due;
    std::erase_if(rekey_retries_, [&](const auto& r) {
      if (now < r.second) return false;
      due.push_back(r.first);
      return true;
    });
    for (uint32_t child : due)
      if (auto st = rekey_child(child, now, out); !st) log(out, 1, st.error(), Subsystem::CHD);
  }
}

void IkeSa::delete_children(Actions& out) {
  for (const RetiringChild& r : retiring_)
    out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, r.params});
  retiring_.clear();
  for (ChildSa& c : children_) {
    out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, c.params});
    log(out, 1,
        "CHILD_SA " + c.params.child + "{" + std::to_string(c.params.unique_id) + "} deleted",
        Subsystem::CHD);
  }
  children_.clear();
}

void IkeSa::fail(Actions& out, const std::string& why) {
  log(out, 0, "IKE_SA " + connection_name() + "[" + std::to_string(id_) + "] failed: " + why);
  delete_children(out);
  state_ = State::Dead;
  failed_ = true;
  outstanding_.reset();
  queued_requests_.clear();
  rekeys_.clear();
  rekey_retries_.clear();
}

void IkeSa::destroy_silently(Actions& out, const std::string& why) {
  log(out, 0, "destroying IKE_SA " + connection_name() + "[" + std::to_string(id_) + "]: " + why);
  delete_children(out);
  state_ = State::Dead;
  outstanding_.reset();
  queued_requests_.clear();
  rekeys_.clear();
  rekey_retries_.clear();
}

void IkeSa::move_to(const Endpoint& local, const Endpoint& remote, Actions& out) {
  if (local == local_ && remote == remote_) return;
  log(out, 1,
      "moving IKE_SA " + connection_name() + "[" + std::to_string(id_) + "] from " +
          local_.to_string() + "..." + remote_.to_string() + " to " + local.to_string() + "..." +
          remote.to_string(),
      Subsystem::NET);
  local_ = local;
  remote_ = remote;
}

void IkeSa::terminate(Timestamp now, Actions& out) {
  if (state_ == State::Deleting) return;
  if (state_ != State::Established) {
    destroy_silently(out, "terminated before it was established");
    return;
  }
  log(out, 1,
      "deleting IKE_SA " + connection_name() + "[" + std::to_string(id_) + "] between " +
          local_.to_string() + "..." + remote_.to_string());
  state_ = State::Deleting;
  outstanding_.reset();  // a pending exchange is abandoned for the DELETE
  queued_requests_.clear();
  send_request(ExchangeType::INFORMATIONAL,
               {Payload{PayloadType::DELETE, false, DeletePayload{ProtocolId::IKE, 0, {}}}}, now,
               out);
}

IkeSaInfo IkeSa::info() const {
  IkeSaInfo i;
  i.id = id_;
  i.connection = connection_name();
  static const char* const kStates[] = {"CONNECTING", "ESTABLISHED", "DELETING", "DEAD"};
  i.state = kStates[static_cast<int>(state_)];
  i.initiator = initiator_;
  i.spi_i = spi_i_;
  i.spi_r = spi_r_;
  i.local = local_;
  i.remote = remote_;
  if (conn_) i.local_id = local_identity().to_string();
  i.remote_id = remote_id_.to_string();
  if (prf_) i.algorithms = describe(ike_proposal_);
  i.nat_local = nat_local_;
  i.nat_remote = nat_remote_;
  i.server_reflexive = server_reflexive_;
  i.local_vips = local_vips_;
  for (const PoolLease& l : remote_vips_) i.remote_vips.push_back(l.address);
  auto child_info = [](const ChildSaParams& p, const std::string& algorithms, std::string state) {
    ChildSaInfo ci;
    ci.name = p.child;
    ci.unique_id = p.unique_id;
    ci.spi_in = p.spi_in;
    ci.spi_out = p.spi_out;
    ci.algorithms = algorithms;
    ci.local_ts = to_string(p.local_ts);
    ci.remote_ts = to_string(p.remote_ts);
    ci.mode = p.mode;
    ci.udp_encapsulation = p.udp_encapsulation;
    ci.state = std::move(state);
    return ci;
  };
  for (const ChildSa& c : children_)
    i.children.push_back(child_info(c.params, c.algorithms,
                                    c.replaced   ? "REKEYED"
                                    : c.rekeying ? "REKEYING"
                                                 : "INSTALLED"));
  // Deleted after a rekeying, its inbound SA kept until the peer confirms.
  for (const RetiringChild& r : retiring_)
    i.children.push_back(child_info(r.params, r.algorithms, "DELETING"));
  return i;
}

bool IkeSa::derive_keys(Actions& out) {
  auto shared = ke_->shared_secret(ke_peer_public_);
  if (!shared) {
    fail(out, "key exchange failed: " + shared.error().detail);
    return false;
  }
  return derive_keys_from(*shared, out);
}

bool IkeSa::derive_keys_from(Bytes& shared, Actions& out) {
  auto prf = crypto::Prf::make(algorithms_.prf);
  if (!prf) {
    std::fill(shared.begin(), shared.end(), 0);
    fail(out, prf.error().detail);
    return false;
  }
  prf_ = *prf;
  auto sizes = crypto::sk_key_sizes(algorithms_.sk);
  auto keys = crypto::derive_ike_sa_keys(*prf_, ni_, nr_, shared, spi_i_, spi_r_, *sizes);
  std::fill(shared.begin(), shared.end(), 0);
  if (!keys) {
    fail(out, "key derivation failed: " + keys.error().detail);
    return false;
  }
  keys_ = std::move(keys.value());
  const Bytes& e_in = initiator_ ? keys_.sk_er : keys_.sk_ei;
  const Bytes& a_in = initiator_ ? keys_.sk_ar : keys_.sk_ai;
  const Bytes& e_out = initiator_ ? keys_.sk_ei : keys_.sk_er;
  const Bytes& a_out = initiator_ ? keys_.sk_ai : keys_.sk_ar;
  auto in = crypto::make_sk_cipher(algorithms_.sk, e_in, a_in);
  auto outc = crypto::make_sk_cipher(algorithms_.sk, e_out, a_out);
  if (!in || !outc) {
    fail(out, "cannot set up IKE SA protection");
    return false;
  }
  cipher_in_ = std::move(in.value());
  cipher_out_ = std::move(outc.value());
  ke_.reset();  // the private value is no longer needed
  return true;
}

}  // namespace ikeme::ike
