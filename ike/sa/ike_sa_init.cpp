// IKE_SA_INIT (RFC 7296 §1.2): proposals, key exchange, nonces, NAT detection (§2.23), the
// initiator's answers to COOKIE (§2.6) and INVALID_KE_PAYLOAD (§1.2), and the responder's side.

#include <mbedtls/sha1.h>

#include <algorithm>

#include "ike/codec/summary.hpp"
#include "ike/pki/certreq.hpp"
#include "ike/sa/ike_sa.hpp"
#include "ike/sa/proposals.hpp"

namespace ikeme::ike {
namespace {

constexpr size_t kNonceSize = 32;
constexpr unsigned kMaxInitRetries = 5;  // COOKIE / INVALID_KE_PAYLOAD rounds before giving up

// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port).
Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& ep) {
  Bytes in;
  ByteWriter w(in);
  w.u64(spi_i);
  w.u64(spi_r);
  w.bytes(ep.address.bytes());
  w.u16(ep.port);
  Bytes out(20);
  mbedtls_sha1_ret(in.data(), in.size(), out.data());
  return out;
}

std::vector<Proposal> numbered(std::vector<Proposal> proposals, ProtocolId protocol, Bytes spi) {
  for (size_t i = 0; i < proposals.size(); ++i) {
    proposals[i].number = static_cast<uint8_t>(i + 1);
    proposals[i].protocol = protocol;
    proposals[i].spi = spi;
  }
  return proposals;
}

// SIGNATURE_HASH_ALGORITHMS (RFC 7427): SHA2-256, SHA2-384, SHA2-512.
Bytes hash_algorithms() {
  return {0, 2, 0, 3, 0, 4};
}

}  // namespace

std::vector<Payload> IkeSa::nat_detection_notifies() const {
  // encap: yes (strongSwan's force encapsulation): a random source hash makes the peer believe
  // we are behind a NAT, so both sides move to the NAT-T port and encapsulate ESP in UDP.
  if (conn_ && conn_->encap)
    return {
        make_notify(NotifyType::NAT_DETECTION_SOURCE_IP, ctx_.rng->bytes(20)),
        make_notify(NotifyType::NAT_DETECTION_DESTINATION_IP, nat_hash(spi_i_, spi_r_, remote_))};
  return {make_notify(NotifyType::NAT_DETECTION_SOURCE_IP, nat_hash(spi_i_, spi_r_, local_)),
          make_notify(NotifyType::NAT_DETECTION_DESTINATION_IP, nat_hash(spi_i_, spi_r_, remote_))};
}

void IkeSa::check_nat(const Message& m, Endpoint local, Endpoint remote, Actions& out) {
  auto sources = m.notifies(NotifyType::NAT_DETECTION_SOURCE_IP);
  const NotifyPayload* dest = m.find_notify(NotifyType::NAT_DETECTION_DESTINATION_IP);
  if (sources.empty() || !dest) return;  // the peer does not do NAT-T
  // The hashes in a request were computed with SPIr = 0.
  uint64_t spi_r = m.header.response() ? spi_r_ : 0;
  nat_local_ = dest->data != nat_hash(spi_i_, spi_r, local);
  Bytes expected = nat_hash(spi_i_, spi_r, remote);
  nat_remote_ = true;
  for (const NotifyPayload* s : sources)
    if (s->data == expected) nat_remote_ = false;
  if (nat_local_) log(out, 1, "local host is behind NAT, sending keep alives");
  if (nat_remote_) log(out, 1, "remote host is behind NAT");
  nat_fake_ = conn_ && conn_->encap;
  if (nat_fake_) log(out, 1, "faking NAT situation to enforce UDP encapsulation");
}

std::unique_ptr<IkeSa> IkeSa::initiate(uint32_t id, std::shared_ptr<const ConnectionConfig> conn,
                                       const ChildConfig* child, Endpoint local, Endpoint remote,
                                       bool initial_contact, SaContext ctx, Timestamp now,
                                       Actions& out, Bytes connect_id) {
  std::unique_ptr<IkeSa> sa(new IkeSa(id, ctx, true));
  sa->connect_id_ = std::move(connect_id);
  sa->send_initial_contact_ = initial_contact;
  sa->conn_ = std::move(conn);
  sa->child_cfg_ = child;
  sa->local_ = local;
  sa->remote_ = remote;
  sa->created_ = now;
  if (sa->conn_->local.method == AuthMethodConfig::Pubkey) {
    // Our certificate, key and identity are checked before anything is sent.
    if (auto problem = sa->local_auth_problem(sa->local_identity())) {
      const char* with = sa->conn_->local.pubkeys.empty() ? "a certificate" : "a raw public key";
      sa->fail(out, std::string("cannot authenticate with ") + with + ": " + *problem);
      return sa;
    }
  }
  do sa->spi_i_ = ctx.rng->u64();
  while (sa->spi_i_ == 0);
  sa->ni_ = ctx.rng->bytes(kNonceSize);
  auto dh = transform_of(sa->conn_->proposals.front(), TransformType::DH);
  auto ke = sa->make_key_exchange(static_cast<DhGroup>(dh.value_or(0)), now);
  if (!ke) {
    sa->fail(out, "cannot create key exchange: " + ke.error().detail);
    return sa;
  }
  sa->ke_ = std::move(ke.value());
  sa->log(out, 0,
          "initiating IKE_SA " + sa->conn_->name + "[" + std::to_string(id) + "] to " +
              remote.address.to_string());
  sa->start_init(now, out);
  return sa;
}

void IkeSa::start_init(Timestamp now, Actions& out) {
  std::vector<Payload> p;
  if (!cookie_.empty()) p.push_back(make_notify(NotifyType::COOKIE, cookie_));
  p.push_back(
      Payload{PayloadType::SA, false, SaPayload{numbered(conn_->proposals, ProtocolId::IKE, {})}});
  p.push_back(make_ke(ke_->group(), ke_->public_value()));
  p.push_back(make_nonce(ni_));
  for (Payload& n : nat_detection_notifies()) p.push_back(std::move(n));
  if (conn_->fragmentation) p.push_back(make_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED));
  p.push_back(make_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS, hash_algorithms()));
  if (conn_->mediation) p.push_back(make_notify(NotifyType::ME_MEDIATION));
  if (!connect_id_.empty()) p.push_back(make_notify(NotifyType::ME_CONNECTID, connect_id_));
  Message m{header(ExchangeType::IKE_SA_INIT, false, 0), std::move(p)};
  auto wire = encode_message(m);
  if (!wire) {
    fail(out, "cannot encode IKE_SA_INIT: " + wire.error().detail);
    return;
  }
  log(out, 1, "generating " + summarize(m), Subsystem::ENC);
  init_request_ = *wire;
  next_request_id_ = 1;
  Outstanding o{ExchangeType::IKE_SA_INIT, 0, {frame(*wire)}};
  o.next_send = now + ctx_.config->retransmit.timeout;
  transmit(o.datagrams, out);
  last_outbound_ = now;
  outstanding_ = std::move(o);
}

void IkeSa::handle_init_response(const Message& m, ByteView raw, Endpoint local, Endpoint remote,
                                 Timestamp now, Actions& out) {
  if (state_ != State::Connecting || !outstanding_ ||
      outstanding_->exchange != ExchangeType::IKE_SA_INIT)
    return;  // a late duplicate
  log(out, 1, "parsed " + summarize(m), Subsystem::ENC);
  if (const NotifyPayload* cookie = m.find_notify(NotifyType::COOKIE)) {
    if (cookie->data == cookie_) return;  // an answer to a retransmission of this very request
    if (++init_retries_ > kMaxInitRetries) return fail(out, "too many COOKIE rounds");
    log(out, 1, "received COOKIE, restarting IKE_SA_INIT with it");
    cookie_ = cookie->data;
    start_init(now, out);
    return;
  }
  if (const NotifyPayload* ike = m.find_notify(NotifyType::INVALID_KE_PAYLOAD)) {
    auto group = static_cast<DhGroup>(ike->data[0] << 8 | ike->data[1]);
    if (group == ke_->group()) return;  // answers an earlier request; this one uses the group
    bool offered = false;
    for (const Proposal& p : conn_->proposals)
      for (const Transform& t : p.transforms)
        offered = offered || (t.type == TransformType::DH && t.id == static_cast<uint16_t>(group));
    if (!offered)
      return fail(out,
                  "peer requested key exchange group " + name(group) + " that we did not propose");
    if (++init_retries_ > kMaxInitRetries) return fail(out, "too many INVALID_KE_PAYLOAD rounds");
    log(out, 1,
        "peer didn't accept DH group " + name(ke_->group()) + ", it requested " + name(group));
    auto ke = crypto::KeyExchange::create(group, *ctx_.rng);
    if (!ke) return fail(out, "cannot create key exchange: " + ke.error().detail);
    ke_ = std::move(ke.value());
    start_init(now, out);
    return;
  }
  for (const Payload& p : m.payloads) {
    const auto* n = p.as<NotifyPayload>();
    if (n && is_error_notify(n->type))
      return fail(out, "peer answered IKE_SA_INIT with " + name(n->type));
  }
  const Payload* sa = m.find(PayloadType::SA);
  const Payload* ke = m.find(PayloadType::KE);
  const Payload* nonce = m.find(PayloadType::NONCE);
  if (!sa || !ke || !nonce || m.header.spi_r == 0)
    return fail(out, "IKE_SA_INIT response lacks SA, KE, Nonce or the responder SPI");
  const auto& chosen = sa->as<SaPayload>()->proposals;
  if (chosen.size() != 1)
    return fail(out, "responder returned " + std::to_string(chosen.size()) + " proposals");
  // The answer must be one of our proposals, reduced to one transform per type.
  auto accepted = select_proposal(conn_->proposals, chosen);
  if (!accepted || accepted->transforms.size() != chosen.front().transforms.size())
    return fail(out, "responder chose a proposal we did not offer: " + describe(chosen.front()));
  auto algs = ike_algorithms(*accepted);
  if (!algs) return fail(out, algs.error());
  if (ke->as<KePayload>()->group != ke_->group() || algs->dh != ke_->group())
    return fail(out, "responder's KE group does not match the negotiated one");
  if (conn_->mediation && !m.find_notify(NotifyType::ME_MEDIATION))
    return fail(out, "mediation server did not confirm ME_MEDIATION");
  spi_r_ = m.header.spi_r;
  ike_proposal_ = *accepted;
  algorithms_ = *algs;
  nr_ = nonce->as<NoncePayload>()->data;
  ke_peer_public_ = ke->as<KePayload>()->data;
  init_response_.assign(raw.begin(), raw.end());
  peer_fragmentation_ = m.find_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED) != nullptr;
  if (const NotifyPayload* h = m.find_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS))
    peer_hashes_ = crypto::parse_hash_algorithms(h->data);
  log(out, 1, "selected proposal: IKE:" + describe(ike_proposal_), Subsystem::CFG);
  check_nat(m, local, remote, out);
  outstanding_.reset();
  if (!derive_keys(out)) return;
  // RFC 7296 §2.23: with a NAT in the path, move to the NAT-T port; IKE-ME always moves.
  if ((nat_local_ || nat_remote_ || nat_fake_ || conn_->mediation) &&
      local_.port == ctx_.config->port) {
    local_.port = ctx_.config->port_nat_t;
    if (remote_.port == ctx_.config->port) remote_.port = ctx_.config->port_nat_t;
    log(out, 2, "switching to NAT-T port " + std::to_string(local_.port), Subsystem::NET);
  }
  start_auth(now, out);
}

std::unique_ptr<IkeSa> IkeSa::respond(
    uint32_t id, const Message& request, ByteView raw, Endpoint local, Endpoint remote,
    std::vector<std::shared_ptr<const ConnectionConfig>> candidates, SaContext ctx, Timestamp now,
    Actions& out) {
  std::unique_ptr<IkeSa> sa(new IkeSa(id, ctx, false));
  if (const auto* n = request.find_notify(NotifyType::ME_CONNECTID)) {
    // IKE-ME: the IKE SA of a mediated connection; only those connections may answer it.
    sa->connect_id_ = n->data;
    std::erase_if(candidates, [](const auto& c) { return c->mediated_by.empty(); });
  }
  sa->candidates_ = std::move(candidates);
  sa->local_ = local;
  sa->remote_ = remote;
  sa->created_ = now;
  sa->last_inbound_ = now;
  sa->last_outbound_ = now;  // the IKE_SA_INIT response goes out now
  sa->spi_i_ = request.header.spi_i;
  do sa->spi_r_ = ctx.rng->u64();
  while (sa->spi_r_ == 0);
  sa->expected_request_id_ = 1;
  if (!sa->respond_init(request, raw, out)) return nullptr;
  return sa;
}

bool IkeSa::respond_init(const Message& request, ByteView raw, Actions& out) {
  // Like every message an SA accepts (and like charon), the request is logged with its payloads:
  // whether it carried a COOKIE, which KE group, ... is what an interop problem turns on.
  log(out, 1, "parsed " + summarize(request), Subsystem::ENC);
  log(out, 1, remote_.address.to_string() + " is initiating an IKE_SA");
  auto refuse = [&](NotifyType type, Bytes data, const std::string& why) {
    log(out, 0, "refusing IKE_SA_INIT from " + remote_.to_string() + ": " + why);
    Message m{header(ExchangeType::IKE_SA_INIT, true, 0), {make_notify(type, std::move(data))}};
    m.header.spi_r = 0;
    log(out, 1, "generating " + summarize(m), Subsystem::ENC);
    if (auto wire = encode_message(m)) transmit({frame(*wire)}, out);
    return false;
  };
  const Payload* sa = request.find(PayloadType::SA);
  const Payload* ke = request.find(PayloadType::KE);
  const Payload* nonce = request.find(PayloadType::NONCE);
  if (!sa || !ke || !nonce)
    return refuse(NotifyType::INVALID_SYNTAX, {}, "request lacks SA, KE or Nonce");
  bool mediation_request = request.find_notify(NotifyType::ME_MEDIATION) != nullptr;
  // The first candidate connection with a matching proposal decides the IKE SA's algorithms;
  // IKE_AUTH picks the final connection by identity among candidates with the same proposals.
  std::optional<Proposal> chosen;
  for (const auto& c : candidates_) {
    if (c->mediation != mediation_request) continue;
    if (auto p = select_proposal(c->proposals, sa->as<SaPayload>()->proposals)) {
      chosen = p;
      conn_ = c;
      break;
    }
  }
  if (!chosen) {
    std::string offered;
    for (const Proposal& p : sa->as<SaPayload>()->proposals) offered += " " + describe(p);
    return refuse(NotifyType::NO_PROPOSAL_CHOSEN, {}, "no acceptable proposal among" + offered);
  }
  auto algs = ike_algorithms(*chosen);
  if (!algs) return refuse(NotifyType::NO_PROPOSAL_CHOSEN, {}, algs.error());
  DhGroup offered_group = ke->as<KePayload>()->group;
  if (offered_group != algs->dh) {
    Bytes want{static_cast<uint8_t>(static_cast<uint16_t>(algs->dh) >> 8),
               static_cast<uint8_t>(static_cast<uint16_t>(algs->dh))};
    return refuse(
        NotifyType::INVALID_KE_PAYLOAD, want,
        "key exchange group " + name(offered_group) + " is not the selected " + name(algs->dh));
  }
  auto dh = make_key_exchange(algs->dh, created_);
  if (!dh) return refuse(NotifyType::NO_PROPOSAL_CHOSEN, {}, dh.error().detail);
  ke_ = std::move(dh.value());
  ike_proposal_ = *chosen;
  algorithms_ = *algs;
  ni_ = nonce->as<NoncePayload>()->data;
  nr_ = ctx_.rng->bytes(kNonceSize);
  ke_peer_public_ = ke->as<KePayload>()->data;
  init_request_.assign(raw.begin(), raw.end());
  peer_fragmentation_ = request.find_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED) != nullptr;
  if (const NotifyPayload* h = request.find_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS))
    peer_hashes_ = crypto::parse_hash_algorithms(h->data);
  check_nat(request, local_, remote_, out);
  log(out, 1, "selected proposal: IKE:" + describe(ike_proposal_), Subsystem::CFG);

  std::vector<Payload> p;
  Proposal answer = *chosen;
  p.push_back(Payload{PayloadType::SA, false, SaPayload{{answer}}});
  p.push_back(make_ke(ke_->group(), ke_->public_value()));
  p.push_back(make_nonce(nr_));
  for (Payload& n : nat_detection_notifies()) p.push_back(std::move(n));
  // RFC 7383 §2.3 and RFC 7427 §4: announce these only to a peer that announced them.
  if (conn_->fragmentation && peer_fragmentation_)
    p.push_back(make_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED));
  if (request.find_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS))
    p.push_back(make_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS, hash_algorithms()));
  if (mediation_request) p.push_back(make_notify(NotifyType::ME_MEDIATION));
  // RFC 7296 §1.2: a responder that wants the initiator's certificate asks in IKE_SA_INIT; a
  // peer with strongSwan's default send_cert = ifasked sends none otherwise. The CAs of every
  // candidate connection that authenticates its peer by certificate, each hash once.
  std::vector<pki::Sha1Digest> hashes;
  for (const auto& c : candidates_) {
    if (c->remote.method != AuthMethodConfig::Pubkey || !c->remote.pubkeys.empty() ||
        c->mediation != mediation_request)
      continue;
    const pki::TrustStore* s =
        c->remote.trust ? c->remote.trust.get() : ctx_.config->trust_store.get();
    if (!s) continue;
    for (const pki::Sha1Digest& h : pki::parse_certreq_authorities(pki::certreq_authorities(*s)))
      if (std::find(hashes.begin(), hashes.end(), h) == hashes.end()) hashes.push_back(h);
  }
  Bytes authorities;
  for (const pki::Sha1Digest& h : hashes) authorities.insert(authorities.end(), h.begin(), h.end());
  if (!authorities.empty())
    p.push_back(Payload{PayloadType::CERTREQ, false,
                        CertPayload{CertEncoding::X509_SIGNATURE, std::move(authorities)}});
  Message m{header(ExchangeType::IKE_SA_INIT, true, 0), std::move(p)};
  auto wire = encode_message(m);
  if (!wire) return refuse(NotifyType::INVALID_SYNTAX, {}, "cannot encode response");
  if (!(ctx_.config->defer_key_exchange ? request_key_exchange(out) : derive_keys(out)))
    return false;
  log(out, 1, "generating " + summarize(m), Subsystem::ENC);
  init_response_ = *wire;
  init_response_datagrams_ = {frame(*wire)};
  transmit(init_response_datagrams_, out);
  return true;
}

void IkeSa::resend_init_response(Actions& out) {
  if (init_response_datagrams_.empty() || state_ != State::Connecting) return;
  log(out, 1, "received retransmit of IKE_SA_INIT request, retransmitting response");
  transmit(init_response_datagrams_, out);
}

}  // namespace ikeme::ike
