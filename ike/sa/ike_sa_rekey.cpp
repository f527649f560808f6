// CREATE_CHILD_SA for rekeying a CHILD_SA (RFC 7296 §1.3.3, §2.8, §2.17): the initiator asks with
// N(REKEY_SA), new SPI and nonce (and a KE payload for PFS), installs the new CHILD_SA from the
// answer and deletes the old one; the responder installs the new one at once and keeps the old
// one until the initiator's DELETE. Both ends rekeying the same CHILD_SA at once (§2.8.1) leaves
// two new CHILD_SAs: the one from the exchange with the lowest of the four nonces is redundant
// and deleted by the end that initiated that exchange, the other end deletes the old one.
//
// Not here: an additional CHILD_SA or rekeying the IKE SA itself. Both are answered
// NO_ADDITIONAL_SAS, on which strongSwan reauthenticates instead.

#include <algorithm>

#include "ike/sa/child_spi.hpp"
#include "ike/sa/ike_sa.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::ike {
namespace {

constexpr size_t kNonceSize = 32;
// How long to wait before trying again when the peer answers TEMPORARY_FAILURE (RFC 7296
// §2.25: it is busy with the same SA, e.g. rekeying it itself).
constexpr Duration kTemporaryFailureRetry{5000};
// How long a CHILD_SA we deleted after rekeying keeps its inbound SA if the peer's response does
// not confirm the DELETE (it answers without a DELETE payload when it had deleted it already).
constexpr Duration kRetireGrace{10000};

std::string child_label(const ChildSaParams& p) {
  return p.child + "{" + std::to_string(p.unique_id) + "}";
}

uint32_t fresh_spi(crypto::Rng& rng) {
  uint32_t spi = 0;
  do spi = rng.u32();
  while (spi < 256);  // 1-255 are reserved (RFC 4303 §2.1)
  return spi;
}

// The DH group a proposal names (NONE when it has none, or only "none").
DhGroup dh_group_of(const Proposal& p) {
  return static_cast<DhGroup>(transform_of(p, TransformType::DH).value_or(0));
}

bool offers_group(const std::vector<Proposal>& proposals, DhGroup group) {
  for (const Proposal& p : proposals)
    for (const Transform& t : p.transforms)
      if (t.type == TransformType::DH && t.id == static_cast<uint16_t>(group)) return true;
  return false;
}

// Byte-wise "less than" of two nonces, the shorter first on a common prefix (RFC 7296 §2.8.1
// compares them as numbers of the same length; strongSwan compares their bytes).
bool nonce_less(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

const Bytes& lowest(const Bytes& a, const Bytes& b) {
  return nonce_less(b, a) ? b : a;
}

struct CreateChildPayloads {
  const SaPayload* sa = nullptr;
  const NoncePayload* nonce = nullptr;
  const KePayload* ke = nullptr;
  const TsPayload *tsi = nullptr, *tsr = nullptr;
  const NotifyPayload* rekey = nullptr;
  bool transport = false;
  std::optional<NotifyType> error;  // the first error notify (responses)
  const NotifyPayload* error_notify = nullptr;
};

CreateChildPayloads collect(const std::vector<Payload>& inner) {
  CreateChildPayloads c;
  for (const Payload& p : inner) {
    if (p.type == PayloadType::SA) c.sa = p.as<SaPayload>();
    if (p.type == PayloadType::NONCE) c.nonce = p.as<NoncePayload>();
    if (p.type == PayloadType::KE) c.ke = p.as<KePayload>();
    if (p.type == PayloadType::TSi) c.tsi = p.as<TsPayload>();
    if (p.type == PayloadType::TSr) c.tsr = p.as<TsPayload>();
    const auto* n = p.as<NotifyPayload>();
    if (!n) continue;
    if (n->type == NotifyType::REKEY_SA) c.rekey = n;
    if (n->type == NotifyType::USE_TRANSPORT_MODE) c.transport = true;
    if (is_error_notify(n->type) && !c.error) {
      c.error = n->type;
      c.error_notify = n;
    }
  }
  return c;
}

}  // namespace

bool IkeSa::has_child(uint32_t unique_id) const {
  return std::any_of(children_.begin(), children_.end(),
                     [&](const ChildSa& c) { return c.params.unique_id == unique_id; });
}

IkeSa::ChildSa* IkeSa::find_child(uint32_t unique_id) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const ChildSa& c) { return c.params.unique_id == unique_id; });
  return it == children_.end() ? nullptr : &*it;
}

const ChildConfig* IkeSa::child_config(const std::string& name) const {
  if (!conn_) return nullptr;
  for (const ChildConfig& c : conn_->children)
    if (c.name == name) return &c;
  return nullptr;
}

Status<std::string> IkeSa::rekey_child(uint32_t unique_id, Timestamp now, Actions& out) {
  ChildSa* child = find_child(unique_id);
  if (!child) return Unexpected{"no CHILD_SA with id " + std::to_string(unique_id)};
  const std::string what = "CHILD_SA " + child_label(child->params);
  if (state_ != State::Established)
    return Unexpected{what + " is not rekeyed: its IKE SA is not established"};
  if (child->rekeying) return Unexpected{what + " is already being rekeyed"};
  if (child->replaced) return Unexpected{what + " was already replaced by a newer CHILD_SA"};
  const ChildConfig* cfg = child_config(child->params.child);
  if (!cfg)
    return Unexpected{what + " is not rekeyed: its configuration is gone (reloaded without it)"};
  RekeyRequest r;
  r.old_id = unique_id;
  r.child = child->params.child;
  r.tsi = child->params.local_ts;
  r.tsr = child->params.remote_ts;
  // PFS: the first DH group of the configured ESP proposals (strongSwan's choice too).
  DhGroup group = DhGroup::NONE;
  for (const Proposal& p : cfg->esp_proposals)
    if (group == DhGroup::NONE) group = dh_group_of(p);
  log(out, 0,
      "rekeying " + what + " (SPIs " + hex32(child->params.spi_in) + "_i " +
          hex32(child->params.spi_out) + "_o)" +
          (group == DhGroup::NONE ? std::string() : " with PFS group " + name(group)),
      Subsystem::CHD);
  if (!send_rekey_request(std::move(r), group, now, out))
    return Unexpected{what + " is not rekeyed: the request could not be sent"};
  return {};
}

bool IkeSa::send_rekey_request(RekeyRequest r, DhGroup group, Timestamp now, Actions& out) {
  ChildSa* child = find_child(r.old_id);
  const ChildConfig* cfg = child ? child_config(child->params.child) : nullptr;
  if (!child || !cfg) return false;
  r.spi_in = fresh_spi(*ctx_.rng);
  r.ni = ctx_.rng->bytes(kNonceSize);
  r.ke.reset();
  if (group != DhGroup::NONE) {
    auto ke = make_fresh_key_exchange(ctx_.config->key_exchange_factory, group, *ctx_.rng);
    if (!ke) {
      log(out, 0, "rekeying failed: no " + name(group) + " key: " + ke.error().detail,
          Subsystem::CHD);
      return false;
    }
    r.ke = std::shared_ptr<crypto::KeyExchange>(std::move(ke.value()));
  }
  std::vector<Proposal> esp;
  for (const Proposal& prop : cfg->esp_proposals) {
    Proposal q = prop;
    q.protocol = ProtocolId::ESP;
    q.number = static_cast<uint8_t>(esp.size() + 1);
    q.spi = spi_bytes(r.spi_in);
    esp.push_back(std::move(q));
  }
  std::vector<Payload> p;
  p.push_back(
      make_notify(NotifyType::REKEY_SA, {}, ProtocolId::ESP, spi_bytes(child->params.spi_in)));
  if (child->params.mode == ChildMode::Transport)
    p.push_back(make_notify(NotifyType::USE_TRANSPORT_MODE));
  p.push_back(Payload{PayloadType::SA, false, SaPayload{std::move(esp)}});
  p.push_back(Payload{PayloadType::NONCE, false, NoncePayload{r.ni}});
  if (r.ke) p.push_back(Payload{PayloadType::KE, false, KePayload{group, r.ke->public_value()}});
  p.push_back(Payload{PayloadType::TSi, false, TsPayload{r.tsi}});
  p.push_back(Payload{PayloadType::TSr, false, TsPayload{r.tsr}});
  const uint32_t old_id = r.old_id;
  // The request may wait behind an outstanding one; its context waits in the same order.
  rekeys_.push_back(std::move(r));
  if (!queue_request(ExchangeType::CREATE_CHILD_SA, std::move(p), now, out)) {
    rekeys_.pop_back();
    return false;
  }
  if (ChildSa* c = find_child(old_id)) c->rekeying = true;
  return true;
}

void IkeSa::handle_create_child_request(const std::vector<Payload>& inner, uint32_t message_id,
                                        Actions& out) {
  auto answer = [&](NotifyType n, Bytes data = {}) {
    send_response(ExchangeType::CREATE_CHILD_SA, message_id, {make_notify(n, std::move(data))},
                  out);
  };
  if (state_ != State::Established) {
    log(out, 1, "CREATE_CHILD_SA while the IKE SA is being deleted, answering TEMPORARY_FAILURE");
    return answer(NotifyType::TEMPORARY_FAILURE);
  }
  const CreateChildPayloads req = collect(inner);
  if (req.sa && !req.sa->proposals.empty() &&
      req.sa->proposals.front().protocol == ProtocolId::IKE) {
    log(out, 0,
        "the peer wants to rekey the IKE SA: not supported by this version, answering "
        "NO_ADDITIONAL_SAS (strongSwan then reauthenticates)");
    return answer(NotifyType::NO_ADDITIONAL_SAS);
  }
  if (!req.rekey) {
    log(out, 0,
        "the peer asks for an additional CHILD_SA: not supported by this version, answering "
        "NO_ADDITIONAL_SAS",
        Subsystem::CHD);
    return answer(NotifyType::NO_ADDITIONAL_SAS);
  }
  if (!req.sa || !req.nonce || !req.tsi || !req.tsr || req.rekey->protocol != ProtocolId::ESP) {
    log(out, 0, "CREATE_CHILD_SA request to rekey lacks SA, Nonce, TSi or TSr, or is not for ESP",
        Subsystem::CHD);
    return answer(NotifyType::INVALID_SYNTAX);
  }
  // REKEY_SA names the peer's inbound SPI: our outbound one.
  const uint32_t spi_out = spi_value(req.rekey->spi);
  auto old_it = std::find_if(children_.begin(), children_.end(),
                             [&](const ChildSa& c) { return c.params.spi_out == spi_out; });
  if (old_it == children_.end()) {
    log(out, 0,
        "the peer wants to rekey a CHILD_SA we do not have (SPI " + hex32(spi_out) +
            "), answering CHILD_SA_NOT_FOUND",
        Subsystem::CHD);
    send_response(
        ExchangeType::CREATE_CHILD_SA, message_id,
        {make_notify(NotifyType::CHILD_SA_NOT_FOUND, {}, ProtocolId::ESP, req.rekey->spi)}, out);
    return;
  }
  const ChildSaParams old = old_it->params;  // copied: installing a child reallocates children_
  const std::string what = "CHILD_SA " + child_label(old);
  if (old_it->replaced) {
    log(out, 1, what + " is already replaced, answering TEMPORARY_FAILURE", Subsystem::CHD);
    return answer(NotifyType::TEMPORARY_FAILURE);
  }
  const ChildConfig* cfg = child_config(old.child);
  if (!cfg) {
    log(out, 0,
        what + " cannot be rekeyed: its configuration is gone, answering NO_PROPOSAL_CHOSEN",
        Subsystem::CHD);
    return answer(NotifyType::NO_PROPOSAL_CHOSEN);
  }
  auto chosen = select_proposal(cfg->esp_proposals, req.sa->proposals);
  if (!chosen || chosen->spi.size() != 4) {
    log(out, 0, "rekeying " + what + ": no acceptable ESP proposal, answering NO_PROPOSAL_CHOSEN",
        Subsystem::CHD);
    return answer(NotifyType::NO_PROPOSAL_CHOSEN);
  }
  const DhGroup group = dh_group_of(*chosen);
  if (group != DhGroup::NONE && (!req.ke || req.ke->group != group)) {
    log(out, 1,
        "rekeying " + what + ": the peer's KE is not for " + name(group) +
            ", answering INVALID_KE_PAYLOAD",
        Subsystem::CHD);
    const auto g = static_cast<uint16_t>(group);
    return answer(NotifyType::INVALID_KE_PAYLOAD,
                  {static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)});
  }
  Bytes shared;
  std::shared_ptr<crypto::KeyExchange> ke;
  if (group != DhGroup::NONE) {
    auto fresh = make_fresh_key_exchange(ctx_.config->key_exchange_factory, group, *ctx_.rng);
    if (fresh) {
      ke = std::shared_ptr<crypto::KeyExchange>(std::move(fresh.value()));
      auto s = ke->shared_secret(req.ke->data);
      if (s) shared = std::move(s.value());
    }
    if (shared.empty()) {
      log(out, 0, "rekeying " + what + ": the key exchange failed, answering NO_PROPOSAL_CHOSEN",
          Subsystem::CHD);
      return answer(NotifyType::NO_PROPOSAL_CHOSEN);
    }
  }
  // The selectors stay those of the CHILD_SA being rekeyed.
  auto n_tsi = narrow(req.tsi->selectors, old.remote_ts);
  auto n_tsr = narrow(req.tsr->selectors, old.local_ts);
  if (n_tsi.empty() || n_tsr.empty()) {
    log(out, 0,
        "rekeying " + what + ": traffic selectors " + to_string(req.tsi->selectors) +
            " === " + to_string(req.tsr->selectors) + " do not fit, answering TS_UNACCEPTABLE",
        Subsystem::CHD);
    return answer(NotifyType::TS_UNACCEPTABLE);
  }
  const Bytes nr = ctx_.rng->bytes(kNonceSize);
  const uint32_t spi_in = fresh_spi(*ctx_.rng);
  const ChildMode mode =
      req.transport && old.mode == ChildMode::Transport ? ChildMode::Transport : ChildMode::Tunnel;
  ChildSa* fresh = install_child(*cfg, *chosen, spi_in, spi_value(chosen->spi), n_tsr, n_tsi, mode,
                                 {shared, req.nonce->data, nr, false, old.unique_id}, out);
  std::fill(shared.begin(), shared.end(), 0);
  if (!fresh) return answer(NotifyType::NO_PROPOSAL_CHOSEN);
  const uint32_t new_id = fresh->params.unique_id;
  log(out, 0, what + " rekeyed by the peer as " + child_label(fresh->params), Subsystem::CHD);
  if (ChildSa* o = find_child(old.unique_id)) o->replaced = true;
  // We are rekeying it too (§2.8.1): remember this exchange for the nonce comparison.
  for (RekeyRequest& r : rekeys_)
    if (r.old_id == old.unique_id)
      r.collision = RekeyRequest::Collision{req.nonce->data, nr, new_id};
  Proposal reply = *chosen;
  reply.spi = spi_bytes(spi_in);
  std::vector<Payload> resp;
  if (mode == ChildMode::Transport) resp.push_back(make_notify(NotifyType::USE_TRANSPORT_MODE));
  resp.push_back(Payload{PayloadType::SA, false, SaPayload{{reply}}});
  resp.push_back(Payload{PayloadType::NONCE, false, NoncePayload{nr}});
  if (ke) resp.push_back(Payload{PayloadType::KE, false, KePayload{group, ke->public_value()}});
  resp.push_back(Payload{PayloadType::TSi, false, TsPayload{n_tsi}});
  resp.push_back(Payload{PayloadType::TSr, false, TsPayload{n_tsr}});
  send_response(ExchangeType::CREATE_CHILD_SA, message_id, std::move(resp), out);
}

void IkeSa::handle_create_child_response(const std::vector<Payload>& inner, Timestamp now,
                                         Actions& out) {
  if (rekeys_.empty()) {
    log(out, 1, "unexpected CREATE_CHILD_SA response ignored", Subsystem::CHD);
    return;
  }
  RekeyRequest r = std::move(rekeys_.front());
  rekeys_.pop_front();
  ChildSa* old = find_child(r.old_id);
  if (old) old->rekeying = false;
  const std::string what = "CHILD_SA " + r.child + "{" + std::to_string(r.old_id) + "}";
  const CreateChildPayloads resp = collect(inner);
  if (resp.error && !old) {
    log(out, 1,
        "rekeying " + what + ": it was deleted meanwhile; the peer answered " + name(*resp.error),
        Subsystem::CHD);
    return;
  }
  if (resp.error) {
    const NotifyType e = *resp.error;
    if (e == NotifyType::INVALID_KE_PAYLOAD && old && resp.error_notify->data.size() == 2 &&
        r.ke_retries == 0) {
      auto group =
          static_cast<DhGroup>(resp.error_notify->data[0] << 8 | resp.error_notify->data[1]);
      const ChildConfig* cfg = child_config(old->params.child);
      if (cfg && offers_group(cfg->esp_proposals, group)) {
        log(out, 1, "rekeying " + what + ": the peer wants group " + name(group) + ", retrying",
            Subsystem::CHD);
        r.ke_retries++;
        r.collision.reset();
        send_rekey_request(std::move(r), group, now, out);
        return;
      }
    }
    if (e == NotifyType::TEMPORARY_FAILURE && old) {
      log(out, 1,
          "rekeying " + what + ": the peer answered TEMPORARY_FAILURE, retrying in " +
              std::to_string(kTemporaryFailureRetry.count() / 1000) + " s",
          Subsystem::CHD);
      rekey_retries_.emplace_back(r.old_id, now + kTemporaryFailureRetry);
      return;
    }
    if (e == NotifyType::CHILD_SA_NOT_FOUND && old) {
      log(out, 0,
          "rekeying " + what + ": the peer no longer has it (CHILD_SA_NOT_FOUND); closing it",
          Subsystem::CHD);
      out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, old->params});
      std::erase_if(children_, [&](const ChildSa& c) { return c.params.unique_id == r.old_id; });
      return;
    }
    log(out, 0,
        "rekeying " + what + " failed: the peer answered " + name(e) +
            "; it lives on until its life_time",
        Subsystem::CHD);
    return;
  }
  // The new CHILD_SA the peer agreed to; refused (and deleted at the peer) if anything is off.
  auto refuse = [&](const std::string& why) {
    log(out, 0, "rekeying " + what + " failed: " + why + "; deleting the new CHILD_SA at the peer",
        Subsystem::CHD);
    queue_request(ExchangeType::INFORMATIONAL,
                  {Payload{PayloadType::DELETE, false,
                           DeletePayload{ProtocolId::ESP, 4, {spi_bytes(r.spi_in)}}}},
                  now, out);
  };
  if (!resp.sa || !resp.nonce || !resp.tsi || !resp.tsr || resp.sa->proposals.size() != 1)
    return refuse("the response lacks SA, Nonce, TSi or TSr");
  const ChildConfig* cfg = old ? child_config(old->params.child) : nullptr;
  if (!cfg) {
    log(out, 0, "rekeying " + what + ": it or its configuration went away meanwhile",
        Subsystem::CHD);
    return refuse("nothing left to rekey");
  }
  const Proposal& theirs = resp.sa->proposals.front();
  auto accepted = select_proposal(cfg->esp_proposals, resp.sa->proposals);
  if (!accepted || accepted->transforms.size() != theirs.transforms.size() ||
      accepted->spi.size() != 4)
    return refuse("the peer chose an ESP proposal we did not offer");
  const DhGroup group = dh_group_of(*accepted);
  Bytes shared;
  if (r.ke) {
    if (group != r.ke->group() || !resp.ke || resp.ke->group != group)
      return refuse("the peer's answer does not complete our " + name(r.ke->group()) +
                    " key exchange");
    auto s = r.ke->shared_secret(resp.ke->data);
    if (!s) return refuse("the key exchange failed: " + s.error().detail);
    shared = std::move(s.value());
  } else if (group != DhGroup::NONE) {
    return refuse("the peer chose a DH group we did not send a KE for");
  }
  if (!all_within(resp.tsi->selectors, r.tsi) || !all_within(resp.tsr->selectors, r.tsr))
    return refuse("the peer widened the traffic selectors");
  const ChildSaParams old_params = old->params;
  const ChildMode mode = resp.transport && old_params.mode == ChildMode::Transport
                             ? ChildMode::Transport
                             : ChildMode::Tunnel;
  ChildSa* fresh = install_child(*cfg, *accepted, r.spi_in, spi_value(accepted->spi),
                                 resp.tsi->selectors, resp.tsr->selectors, mode,
                                 {shared, r.ni, resp.nonce->data, true, r.old_id}, out);
  std::fill(shared.begin(), shared.end(), 0);
  if (!fresh) return refuse("it could not be installed");
  const ChildSaParams new_params = fresh->params;
  if (r.collision) {
    // §2.8.1: the exchange with the lowest of the four nonces made the redundant CHILD_SA, and
    // whoever initiated it deletes it; the other end deletes the old one.
    const Bytes& ours = lowest(r.ni, resp.nonce->data);
    const Bytes& peers = lowest(r.collision->ni, r.collision->nr);
    if (nonce_less(ours, peers)) {
      log(out, 0,
          "both ends rekeyed " + what + " at once; ours (" + child_label(new_params) +
              ") has the lowest nonce and is redundant: deleting it, keeping the peer's " +
              old_params.child + "{" + std::to_string(r.collision->peer_new_id) + "}",
          Subsystem::CHD);
      delete_child(new_params.unique_id, "redundant after a rekeying collision", now, out);
      return;
    }
    log(out, 0,
        "both ends rekeyed " + what +
            " at once; the peer's CHILD_SA has the lowest nonce, "
            "keeping ours (" +
            child_label(new_params) + ")",
        Subsystem::CHD);
  }
  log(out, 0, what + " rekeyed as " + child_label(new_params) + "; deleting the old one",
      Subsystem::CHD);
  delete_child(old_params.unique_id, "rekeyed", now, out);
}

void IkeSa::delete_child(uint32_t unique_id, const std::string& why, Timestamp now, Actions& out) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const ChildSa& c) { return c.params.unique_id == unique_id; });
  if (it == children_.end()) return;
  const ChildSaParams& p = it->params;
  log(out, 1,
      "deleting CHILD_SA " + child_label(p) + " (" + why + "), SPIs " + hex32(p.spi_in) + "_i " +
          hex32(p.spi_out) + "_o",
      Subsystem::CHD);
  queue_request(ExchangeType::INFORMATIONAL,
                {Payload{PayloadType::DELETE, false,
                         DeletePayload{ProtocolId::ESP, 4, {spi_bytes(p.spi_in)}}}},
                now, out);
  retiring_.push_back(RetiringChild{p, it->algorithms, now + kRetireGrace});
  children_.erase(it);
}

void IkeSa::retire_confirmed(const std::vector<Payload>& response, Actions& out) {
  for (const Payload& pl : response) {
    const auto* d = pl.as<DeletePayload>();
    if (!d || d->protocol != ProtocolId::ESP) continue;
    for (const Bytes& spi : d->spis) {
      // The peer names its inbound SPI: our outbound one.
      auto it = std::find_if(retiring_.begin(), retiring_.end(), [&](const RetiringChild& r) {
        return r.params.spi_out == spi_value(spi);
      });
      if (it == retiring_.end()) continue;
      out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, it->params});
      log(out, 0, "CHILD_SA " + child_label(it->params) + " closed", Subsystem::CHD);
      retiring_.erase(it);
    }
  }
}

void IkeSa::retire_expired(Timestamp now, Actions& out) {
  std::erase_if(retiring_, [&](const RetiringChild& r) {
    if (now < r.until) return false;
    out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Deleted, r.params});
    log(out, 0,
        "CHILD_SA " + child_label(r.params) + " closed (the peer did not confirm its DELETE)",
        Subsystem::CHD);
    return true;
  });
}

bool IkeSa::expire_replaced_child(uint32_t unique_id, Timestamp now, Actions& out) {
  ChildSa* c = find_child(unique_id);
  if (!c || !c->replaced) return false;
  delete_child(unique_id, "hard lifetime reached after it was replaced", now, out);
  return true;
}

}  // namespace ikeme::ike
