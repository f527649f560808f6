// IKE_AUTH (RFC 7296 §1.2, §2.15) with pre-shared keys or certificates (RFC 7296 §3.6-§3.8,
// RFC 7427), and the first CHILD_SA it creates: ESP proposal selection, traffic selector
// narrowing (§2.9), transport mode (§1.3.1). Each side authenticates itself per its local
// AuthConfig and verifies the peer per its remote one, so PSK and certificates may be mixed.

#include <algorithm>
#include <cstdio>

extern "C" {
#include <mbedtls/constant_time.h>  // mbedTLS 2.28 ships it without a C++ linkage guard
}

#include "ike/codec/me_endpoint.hpp"
#include "ike/codec/summary.hpp"
#include "ike/pki/certificate_key.hpp"
#include "ike/pki/certreq.hpp"
#include "ike/pki/identity_match.hpp"
#include "ike/sa/child_spi.hpp"
#include "ike/sa/ike_sa.hpp"
#include "ike/sa/traffic_selectors.hpp"

namespace ikeme::ike {
namespace {

Bytes id_body(const IdPayload& id) {
  Bytes b{static_cast<uint8_t>(id.id_type), 0, 0, 0};
  b.insert(b.end(), id.data.begin(), id.data.end());
  return b;
}

// The hashes we announce in SIGNATURE_HASH_ALGORITHMS (ike_sa_init.cpp), which we accept in
// DIGITAL_SIGNATURE AUTH payloads.
constexpr crypto::HashAlgorithm kAcceptedHashes[] = {crypto::HashAlgorithm::SHA2_256,
                                                     crypto::HashAlgorithm::SHA2_384,
                                                     crypto::HashAlgorithm::SHA2_512};

}  // namespace

Identity IkeSa::local_identity() const {
  if (!conn_->local.id.is_any()) return conn_->local.id;
  if (conn_->local.method == AuthMethodConfig::Pubkey && conn_->local.cert) {
    ByteView dn = conn_->local.cert->subject_der();
    return Identity(IdType::ID_DER_ASN1_DN, Bytes(dn.begin(), dn.end()));
  }
  return Identity::parse(local_.address.to_string()).value();
}

std::optional<std::string> IkeSa::local_auth_problem(const Identity& local_id) const {
  if (conn_->local.method == AuthMethodConfig::Psk) {
    if (!find_secret(local_id, remote_id_))
      return "no shared key found for '" + local_id.to_string() + "' - '" + remote_id_.to_string() +
             "'";
    return std::nullopt;
  }
  if (!conn_->local.pubkeys.empty()) {
    if (!conn_->local.key) return "no private key configured for the raw public key";
    if (!conn_->local.pubkeys.front() || !conn_->local.key->matches(*conn_->local.pubkeys.front()))
      return "private key does not belong to the configured public key";
    return std::nullopt;
  }
  const auto& cert = conn_->local.cert;
  if (!cert || !conn_->local.key) return "no certificate and private key configured";
  if (!pki::certificate_matches_key(*cert, *conn_->local.key))
    return "private key does not belong to certificate \"" + cert->subject() + "\"";
  if (!pki::certificate_matches_identity(*cert, local_id))
    return "identity '" + local_id.to_string() + "' is not vouched for by certificate \"" +
           cert->subject() + "\"";
  return std::nullopt;
}

Result<std::vector<Payload>, std::string> IkeSa::own_auth_payloads(const Identity& local_id,
                                                                   const IdPayload& id) {
  std::vector<Payload> p;
  if (conn_->local.method == AuthMethodConfig::Psk) {
    const SharedSecret* psk = find_secret(local_id, remote_id_);
    if (!psk)
      return Unexpected{"no shared key found for '" + local_id.to_string() + "' - '" +
                        remote_id_.to_string() + "'"};
    p.push_back(Payload{PayloadType::AUTH, false,
                        AuthPayload{AuthMethod::SHARED_KEY_MIC,
                                    crypto::psk_auth(*prf_, psk->secret, auth_value(true, id))}});
    return p;
  }
  if (auto problem = local_auth_problem(local_id)) return Unexpected{std::string(*problem)};
  if (conn_->local.pubkeys.empty()) {  // a raw public key is known to the peer: no CERT
    p.push_back(Payload{PayloadType::CERT, false, conn_->local.cert->cert_payload()});
    for (const auto& c : conn_->local.intermediates)
      if (c) p.push_back(Payload{PayloadType::CERT, false, c->cert_payload()});
  }
  auto scheme = crypto::choose_auth_scheme(*conn_->local.key, peer_hashes_);
  auto auth = crypto::sign_auth(*conn_->local.key, scheme, auth_value(true, id), *ctx_.rng);
  if (!auth) return Unexpected{std::string("signing AUTH failed: " + auth.error().detail)};
  p.push_back(Payload{PayloadType::AUTH, false, std::move(*auth)});
  return p;
}

std::optional<std::string> IkeSa::verify_peer(const std::vector<Payload>& inner,
                                              const IdPayload& id, const AuthPayload& auth,
                                              const Identity& local_id, Actions& out) {
  const std::string who = "'" + remote_id_.to_string() + "'";
  if (conn_->remote.method == AuthMethodConfig::Psk) {
    if (auth.method != AuthMethod::SHARED_KEY_MIC)
      return "peer " + who + " uses " + name(auth.method) +
             " authentication; a pre-shared key is configured";
    const SharedSecret* psk = find_secret(local_id, remote_id_);
    if (!psk) return "no shared key found for '" + local_id.to_string() + "' - " + who;
    Bytes expected = crypto::psk_auth(*prf_, psk->secret, auth_value(false, id));
    if (auth.data.size() != expected.size() ||
        mbedtls_ct_memcmp(auth.data.data(), expected.data(), expected.size()) != 0)
      return "pre-shared key authentication of " + who + " failed";
    log(out, 1, "authentication of " + who + " with pre-shared key successful");
    return std::nullopt;
  }
  if (auth.method == AuthMethod::SHARED_KEY_MIC)
    return "peer " + who + " uses pre-shared key authentication; public key is configured";
  if (!conn_->remote.pubkeys.empty()) return verify_raw_key(id, auth, out);
  std::vector<pki::Certificate> certs;
  for (const Payload& p : inner) {
    const auto* c = p.type == PayloadType::CERT ? p.as<CertPayload>() : nullptr;
    if (!c || c->encoding != CertEncoding::X509_SIGNATURE) continue;
    auto parsed = pki::Certificate::from_der(c->data);
    if (!parsed) return "certificate of " + who + " unusable: " + parsed.error().message();
    certs.push_back(std::move(*parsed));
  }
  if (certs.empty()) return "peer " + who + " sent no X.509 certificate";
  const pki::Certificate& ee = certs.front();
  std::span<const pki::Certificate> intermediates(certs.data() + 1, certs.size() - 1);
  const pki::TrustStore* store =
      conn_->remote.trust ? conn_->remote.trust.get() : ctx_.config->trust_store.get();
  if (!store) return "no trusted CA certificates to verify " + who;
  pki::TimePoint now = ctx_.wall_clock ? *ctx_.wall_clock : pki::TimePoint{};
  auto chain = store->validate(ee, intermediates, now);
  if (!chain) return "certificate validation of " + who + " failed: " + chain.error().message();
  if (conn_->remote.ca && chain->anchor().subject != conn_->remote.ca->subject())
    return "certificate of " + who + " is issued by CA \"" + chain->anchor().subject +
           "\", not the required \"" + conn_->remote.ca->subject() + "\"";
  if (!pki::certificate_matches_identity(ee, remote_id_))
    return "identity mismatch: certificate \"" + ee.subject() + "\" does not vouch for " + who;
  auto key = pki::certificate_public_key(ee);
  if (!key)
    return "public key of certificate \"" + ee.subject() + "\" unusable: " + key.error().detail;
  auto verified = crypto::verify_auth(*key, auth, auth_value(false, id), kAcceptedHashes);
  if (!verified)
    return "signature verification of " + who +
           " failed (bad signature): " + verified.error().detail;
  log(out, 1,
      "authentication of " + who + " with " + crypto::describe(*verified) +
          " successful (certificate \"" + ee.subject() + "\", CA \"" + chain->anchor().subject +
          "\")");
  return std::nullopt;
}

// The peer's AUTH against the configured raw public keys (the identity was already compared
// with the configured one); any CERT payloads it sent are ignored.
std::optional<std::string> IkeSa::verify_raw_key(const IdPayload& id, const AuthPayload& auth,
                                                 Actions& out) {
  const std::string who = "'" + remote_id_.to_string() + "'";
  const Bytes octets = auth_value(false, id);
  std::string why;
  for (const auto& key : conn_->remote.pubkeys) {
    if (!key) continue;
    auto verified = crypto::verify_auth(*key, auth, octets, kAcceptedHashes);
    if (verified) {
      log(out, 1,
          "authentication of " + who + " with " + crypto::describe(*verified) +
              " successful (raw public key " + key->describe() + ")");
      return std::nullopt;
    }
    why += (why.empty() ? "" : "; ") + key->describe() + ": " + verified.error().detail;
  }
  return "signature verification of " + who + " failed: no configured public key (pubkeys) " +
         "verifies its " + name(auth.method) + " AUTH (" + why + ")";
}

Bytes IkeSa::auth_value(bool ours, const IdPayload& id) const {
  bool i_side = ours == initiator_;  // whether the AUTH is the original initiator's
  const Bytes& message = i_side ? init_request_ : init_response_;
  const Bytes& peer_nonce = i_side ? nr_ : ni_;
  const Bytes& sk_p = i_side ? keys_.sk_pi : keys_.sk_pr;
  return crypto::signed_octets(message, peer_nonce, *prf_, sk_p, id_body(id));
}

std::vector<Payload> IkeSa::child_request_payloads() {
  std::vector<Payload> p;
  const ChildConfig& c = *child_cfg_;
  do pending_child_spi_ = ctx_.rng->u32();
  while (pending_child_spi_ < 256);
  std::vector<Proposal> esp;
  for (const Proposal& prop : c.esp_proposals) {
    Proposal q = without_dh(prop);
    q.protocol = ProtocolId::ESP;
    q.number = static_cast<uint8_t>(esp.size() + 1);
    q.spi = spi_bytes(pending_child_spi_);
    esp.push_back(std::move(q));
  }
  pending_tsi_ = !c.local_ts.empty()    ? c.local_ts
                 : !conn_->vips.empty() ? vip_request_selectors()
                                        : std::vector{host_selector(local_.address)};
  pending_tsr_ = c.remote_ts.empty() ? std::vector{host_selector(remote_.address)} : c.remote_ts;
  if (c.mode == ChildMode::Transport) p.push_back(make_notify(NotifyType::USE_TRANSPORT_MODE));
  p.push_back(Payload{PayloadType::SA, false, SaPayload{std::move(esp)}});
  p.push_back(Payload{PayloadType::TSi, false, TsPayload{pending_tsi_}});
  p.push_back(Payload{PayloadType::TSr, false, TsPayload{pending_tsr_}});
  return p;
}

void IkeSa::start_auth(Timestamp now, Actions& out) {
  Identity local_id = local_identity();
  remote_id_ = conn_->remote.id;
  if (auto problem = local_auth_problem(local_id)) return fail(out, *problem);
  std::vector<Payload> p;
  IdPayload idi = local_id.payload();
  auto own = own_auth_payloads(local_id, idi);
  if (!own) return fail(out, own.error());
  p.push_back(Payload{PayloadType::IDi, false, idi});
  // CERT payloads, then CERTREQ for the CAs we trust (RFC 7296 §1.2 order).
  for (Payload& c : *own)
    if (c.type == PayloadType::CERT) p.push_back(std::move(c));
  if (conn_->remote.method == AuthMethodConfig::Pubkey && conn_->remote.pubkeys.empty()) {
    const pki::TrustStore* store =
        conn_->remote.trust ? conn_->remote.trust.get() : ctx_.config->trust_store.get();
    if (store && !store->cas().empty())
      p.push_back(Payload{PayloadType::CERTREQ, false, pki::certreq_payload(*store)});
  }
  if (conn_->send_initial_contact && send_initial_contact_)
    p.push_back(make_notify(NotifyType::INITIAL_CONTACT));
  if (!conn_->remote.id.is_any())
    p.push_back(Payload{PayloadType::IDr, false, conn_->remote.id.payload()});
  for (Payload& c : *own)
    if (c.type == PayloadType::AUTH) p.push_back(std::move(c));
  if (auto cp = cp_request()) p.push_back(std::move(*cp));
  if (child_cfg_) {
    for (Payload& c : child_request_payloads()) p.push_back(std::move(c));
  }
  if (conn_->mediation && nat_local_) {
    // IKE-ME: ask the mediation server for our server-reflexive endpoint.
    MeEndpoint ask{kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, 0, std::nullopt};
    p.push_back(make_notify(NotifyType::ME_ENDPOINT, encode_me_endpoint(ask)));
  }
  log(out, 1,
      "authentication of '" + local_id.to_string() + "' (myself) with " +
          (conn_->local.method == AuthMethodConfig::Psk ? "pre-shared key" : "public key"));
  send_request(ExchangeType::IKE_AUTH, std::move(p), now, out);
}

uint64_t IkeSa::jittered_rekey_time(const ChildConfig& cfg) const {
  const uint64_t rekey = cfg.rekey_time_s, life = cfg.life_time_s;
  if (rekey == 0) return 0;
  uint64_t spread = rekey / 10;
  if (life > rekey) spread = std::min(spread, life - rekey);
  if (spread == 0) return rekey;
  return rekey - ctx_.rng->u32() % (spread + 1);
}

IkeSa::ChildSa* IkeSa::install_child(const ChildConfig& cfg, const Proposal& selected,
                                     uint32_t spi_in, uint32_t spi_out,
                                     std::vector<TrafficSelector> local_ts,
                                     std::vector<TrafficSelector> remote_ts, ChildMode mode,
                                     const ChildCreation& creation, Actions& out) {
  auto algs = esp_algorithms(selected);
  if (!algs) {
    log(out, 0, "CHILD_SA " + cfg.name + " not created: " + algs.error(), Subsystem::CHD);
    return nullptr;
  }
  auto sizes = crypto::sk_key_sizes({algs->encr, algs->key_bits, algs->integ});
  auto keys = crypto::derive_child_sa_keys(*prf_, keys_.sk_d, creation.shared_secret, creation.ni,
                                           creation.nr, *sizes);
  if (!keys) {
    log(out, 0, "CHILD_SA key derivation failed: " + keys.error().detail, Subsystem::CHD);
    return nullptr;
  }
  ChildSa child;
  ChildSaParams& c = child.params;
  c.ike_sa_id = id_;
  c.connection = conn_->name;
  c.child = cfg.name;
  c.unique_id = (*ctx_.next_child_id)++;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.algorithms = *algs;
  // "i" keys protect traffic from the initiator of the exchange that created the CHILD_SA.
  const bool i_side = creation.we_initiated;
  c.encr_key_out = i_side ? keys->encr_i : keys->encr_r;
  c.integ_key_out = i_side ? keys->integ_i : keys->integ_r;
  c.encr_key_in = i_side ? keys->encr_r : keys->encr_i;
  c.integ_key_in = i_side ? keys->integ_r : keys->integ_i;
  keys->wipe();
  c.local_ts = std::move(local_ts);
  c.remote_ts = std::move(remote_ts);
  c.mode = mode;
  c.local = local_;
  c.remote = remote_;
  c.udp_encapsulation = nat_local_ || nat_remote_ || nat_fake_;
  c.rekey_time_s = jittered_rekey_time(cfg);
  c.life_time_s = cfg.life_time_s;
  c.replaces = creation.replaces;
  c.outbound_after_replaced = creation.replaces != 0 && !creation.we_initiated;
  child.algorithms = describe(selected);
  log(out, 0,
      "CHILD_SA " + cfg.name + "{" + std::to_string(c.unique_id) + "} established with SPIs " +
          hex32(spi_in) + "_i " + hex32(spi_out) + "_o and TS " + to_string(c.local_ts) +
          " === " + to_string(c.remote_ts),
      Subsystem::CHD);
  out.children.push_back(ChildSaEvent{ChildSaEvent::Kind::Installed, c});
  children_.push_back(std::move(child));
  return &children_.back();
}

void IkeSa::established(Timestamp now, Actions& out) {
  state_ = State::Established;
  was_established_ = true;
  last_inbound_ = now;
  last_srflx_query_ = now;  // a registration learns it in IKE_AUTH
  candidates_.clear();
  log(out, 0,
      "IKE_SA " + conn_->name + "[" + std::to_string(id_) + "] established between " +
          local_.to_string() + "[" + local_identity().to_string() + "]..." + remote_.to_string() +
          "[" + remote_id_.to_string() + "]");
}

void IkeSa::handle_auth_request(const Message& m, const std::vector<Payload>& inner, Timestamp now,
                                Actions& out) {
  const uint32_t mid = m.header.message_id;
  const Payload *idi = nullptr, *idr = nullptr, *auth = nullptr, *sa = nullptr, *tsi = nullptr,
                *tsr = nullptr;
  bool transport = false;
  for (const Payload& p : inner) {
    if (p.type == PayloadType::IDi) idi = &p;
    if (p.type == PayloadType::IDr) idr = &p;
    if (p.type == PayloadType::AUTH) auth = &p;
    if (p.type == PayloadType::SA) sa = &p;
    if (p.type == PayloadType::TSi) tsi = &p;
    if (p.type == PayloadType::TSr) tsr = &p;
    if (const auto* n = p.as<NotifyPayload>(); n && n->type == NotifyType::USE_TRANSPORT_MODE)
      transport = true;
    if (const auto* n = p.as<NotifyPayload>(); n && n->type == NotifyType::INITIAL_CONTACT)
      initial_contact_ = true;
  }
  auto refuse = [&](NotifyType type, const std::string& why) {
    log(out, 0, "IKE_AUTH refused: " + why);
    send_response(ExchangeType::IKE_AUTH, mid, {make_notify(type)}, out);
    fail(out, why);
    if (ctx_.mediation && conn_ && conn_->mediation) ctx_.mediation->on_refused(*this, why, out);
  };
  if (state_ != State::Connecting)
    return refuse(NotifyType::INVALID_SYNTAX, "IKE_AUTH on an established SA");
  if (!idi || !auth)
    return refuse(NotifyType::INVALID_SYNTAX, "IKE_AUTH request lacks IDi or AUTH");
  remote_id_ = Identity::from_payload(*idi->as<IdPayload>());
  std::optional<Identity> wanted_local;
  if (idr) wanted_local = Identity::from_payload(*idr->as<IdPayload>());
  // Final connection: identities match and the negotiated IKE proposal is acceptable to it.
  std::shared_ptr<const ConnectionConfig> match;
  for (const auto& c : candidates_) {
    if (!c->remote.id.matches(remote_id_)) continue;
    if (wanted_local && !c->local.id.is_any() && !c->local.id.matches(*wanted_local)) continue;
    if (c->mediation != conn_->mediation) continue;
    if (!select_proposal(c->proposals, {ike_proposal_})) continue;
    match = c;
    break;
  }
  if (!match)
    return refuse(NotifyType::AUTHENTICATION_FAILED,
                  "no connection matches peer identity '" + remote_id_.to_string() + "'");
  conn_ = match;
  Identity local_id = local_identity();
  if (auto why = verify_peer(inner, *idi->as<IdPayload>(), *auth->as<AuthPayload>(), local_id, out))
    return refuse(NotifyType::AUTHENTICATION_FAILED, *why);
  if (auto problem = local_auth_problem(local_id))
    return refuse(NotifyType::AUTHENTICATION_FAILED, *problem);
  std::vector<Payload> resp;
  IdPayload my_id = local_id.payload();
  auto own = own_auth_payloads(local_id, my_id);
  if (!own) return refuse(NotifyType::AUTHENTICATION_FAILED, own.error());
  resp.push_back(Payload{PayloadType::IDr, false, my_id});
  for (Payload& c : *own) resp.push_back(std::move(c));
  log(out, 1,
      "authentication of '" + local_id.to_string() + "' (myself) with " +
          (conn_->local.method == AuthMethodConfig::Psk ? "pre-shared key" : "public key"));
  if (conn_->mediation) {
    // IKE-ME: report the peer's server-reflexive endpoint when it asked for it.
    for (const Payload& p : inner) {
      const auto* n = p.as<NotifyPayload>();
      if (!n || n->type != NotifyType::ME_ENDPOINT) continue;
      MeEndpoint srflx{kPriorityServerReflexive, EndpointType::SERVER_REFLEXIVE, remote_.port,
                       remote_.address};
      resp.push_back(make_notify(NotifyType::ME_ENDPOINT, encode_me_endpoint(srflx)));
      break;
    }
  }
  established(now, out);
  CpResult cp = conn_->mediation ? CpResult::NotRequested : respond_cp(inner, resp, out);

  if (sa && tsi && tsr) {
    if (cp == CpResult::Failed) {
      // RFC 7296 §3.15.4: the IKE SA stands, the CHILD_SA is not created.
      log(out, 0, "configuration payload negotiation failed, no CHILD_SA built", Subsystem::CHD);
    } else if (conn_->mediation) {
      log(out, 0, "CHILD_SA refused: mediation connections carry no CHILD_SAs", Subsystem::CHD);
      if (ctx_.mediation) ctx_.mediation->on_refused(*this, "CHILD_SA requested", out);
      resp.push_back(make_notify(NotifyType::NO_PROPOSAL_CHOSEN));
    } else {
      const auto& offered_tsi = tsi->as<TsPayload>()->selectors;
      const auto& offered_tsr = tsr->as<TsPayload>()->selectors;
      const ChildConfig* found = nullptr;
      bool ts_fit = false;
      std::optional<Proposal> chosen;
      std::vector<TrafficSelector> n_tsi, n_tsr;
      std::vector<Proposal> theirs;
      for (const Proposal& p : sa->as<SaPayload>()->proposals) theirs.push_back(without_dh(p));
      for (const ChildConfig& c : conn_->children) {
        // "dynamic" remote TS: the peer's IKE address. Behind a NAT in transport mode the peer
        // only knows its own inner address (RFC 7296 §2.23.1); in tunnel mode accepting any
        // claimed host would let an authenticated peer pull others' addresses into its tunnel.
        std::vector<TrafficSelector> allow_remote = c.remote_ts;
        if (allow_remote.empty() && !remote_vips_.empty()) {
          // The peer's virtual IPs replace its IKE address.
          for (const PoolLease& l : remote_vips_) allow_remote.push_back(host_selector(l.address));
        } else if (allow_remote.empty()) {
          if (nat_remote_ && transport && c.mode == ChildMode::Transport) {
            for (const auto& ts : offered_tsi)
              if (ts.start_address == ts.end_address) allow_remote.push_back(ts);
          } else {
            allow_remote = {host_selector(remote_.address)};
          }
        }
        auto allow_local =
            c.local_ts.empty() ? std::vector{host_selector(local_.address)} : c.local_ts;
        auto c_tsi = narrow(offered_tsi, allow_remote);
        auto c_tsr = narrow(offered_tsr, allow_local);
        if (c_tsi.empty() || c_tsr.empty()) continue;
        ts_fit = true;
        // The first child whose selectors fit and whose ESP proposals match wins.
        std::vector<Proposal> mine;
        for (const Proposal& p : c.esp_proposals) mine.push_back(without_dh(p));
        auto candidate = select_proposal(mine, theirs);
        if (!candidate || candidate->spi.size() != 4) {
          log(out, 1,
              "CHILD_SA config " + c.name + " fits the traffic selectors but no ESP proposal",
              Subsystem::CHD);
          continue;
        }
        found = &c;
        chosen = candidate;
        n_tsi = std::move(c_tsi);
        n_tsr = std::move(c_tsr);
        break;
      }
      if (!ts_fit) {
        log(out, 0,
            "no acceptable traffic selectors found for " + to_string(offered_tsi) +
                " === " + to_string(offered_tsr),
            Subsystem::CHD);
        resp.push_back(make_notify(NotifyType::TS_UNACCEPTABLE));
      } else {
        if (!found) {
          log(out, 0, "no acceptable ESP proposal among the CHILD_SA configs", Subsystem::CHD);
          resp.push_back(make_notify(NotifyType::NO_PROPOSAL_CHOSEN));
        } else {
          uint32_t spi_in = 0;
          do spi_in = ctx_.rng->u32();
          while (spi_in < 256);
          ChildMode mode = transport && found->mode == ChildMode::Transport ? ChildMode::Transport
                                                                            : ChildMode::Tunnel;
          if (install_child(*found, *chosen, spi_in, spi_value(chosen->spi), n_tsr, n_tsi, mode,
                            {{}, ni_, nr_, false}, out)) {
            Proposal answer = *chosen;
            answer.spi = spi_bytes(spi_in);
            if (mode == ChildMode::Transport)
              resp.push_back(make_notify(NotifyType::USE_TRANSPORT_MODE));
            resp.push_back(Payload{PayloadType::SA, false, SaPayload{{answer}}});
            resp.push_back(Payload{PayloadType::TSi, false, TsPayload{n_tsi}});
            resp.push_back(Payload{PayloadType::TSr, false, TsPayload{n_tsr}});
          } else {
            resp.push_back(make_notify(NotifyType::NO_PROPOSAL_CHOSEN));
          }
        }
      }
    }
  }
  send_response(ExchangeType::IKE_AUTH, mid, std::move(resp), out);
}

void IkeSa::handle_auth_response(const std::vector<Payload>& inner, Timestamp now, Actions& out) {
  const Payload *idr = nullptr, *auth = nullptr, *sa = nullptr, *tsi = nullptr, *tsr = nullptr;
  bool transport = false;
  std::optional<NotifyType> child_error;
  for (const Payload& p : inner) {
    if (p.type == PayloadType::IDr) idr = &p;
    if (p.type == PayloadType::AUTH) auth = &p;
    if (p.type == PayloadType::SA) sa = &p;
    if (p.type == PayloadType::TSi) tsi = &p;
    if (p.type == PayloadType::TSr) tsr = &p;
    const auto* n = p.as<NotifyPayload>();
    if (!n) continue;
    if (n->type == NotifyType::USE_TRANSPORT_MODE) transport = true;
    if (n->type == NotifyType::AUTHENTICATION_FAILED || n->type == NotifyType::INVALID_SYNTAX)
      return fail(out, "peer answered IKE_AUTH with " + name(n->type));
    if (is_error_notify(n->type)) child_error = n->type;
    if (n->type == NotifyType::ME_ENDPOINT) {
      if (auto ep = parse_me_endpoint(n->data, FamilyNone::Forbidden)) {
        log(out, 1, "received " + ep->to_string() + " ME_ENDPOINT", Subsystem::MED);
        if (conn_->mediation && ep->type == EndpointType::SERVER_REFLEXIVE && ep->address)
          server_reflexive_ = Endpoint{*ep->address, ep->port};
      }
    }
  }
  if (!idr || !auth) return fail(out, "IKE_AUTH response lacks IDr or AUTH");
  remote_id_ = Identity::from_payload(*idr->as<IdPayload>());
  if (!conn_->remote.id.matches(remote_id_))
    return reject_responder("peer identity '" + remote_id_.to_string() +
                                "' is not the configured '" + conn_->remote.id.to_string() + "'",
                            now, out);
  if (auto why = verify_peer(inner, *idr->as<IdPayload>(), *auth->as<AuthPayload>(),
                             local_identity(), out))
    return reject_responder(*why, now, out);
  established(now, out);
  take_cp_reply(inner, out);
  if (!child_cfg_) return;
  if (child_error) {
    log(out, 0,
        "CHILD_SA " + child_cfg_->name + " not created: peer answered " + name(*child_error),
        Subsystem::CHD);
    return;
  }
  if (!sa || !tsi || !tsr) {
    log(out, 0, "CHILD_SA " + child_cfg_->name + " not created: response lacks SA/TSi/TSr",
        Subsystem::CHD);
    return;
  }
  const auto& props = sa->as<SaPayload>()->proposals;
  std::vector<Proposal> mine;
  for (const Proposal& p : child_cfg_->esp_proposals) mine.push_back(without_dh(p));
  auto accepted = props.size() == 1 ? select_proposal(mine, props) : std::nullopt;
  if (!accepted || accepted->transforms.size() != props.front().transforms.size() ||
      accepted->spi.size() != 4)
    return refuse_child("peer chose an ESP proposal we did not offer", now, out);
  const auto& n_tsi = tsi->as<TsPayload>()->selectors;
  const auto& n_tsr = tsr->as<TsPayload>()->selectors;
  if (!all_within(n_tsi, pending_tsi_) || !all_within(n_tsr, pending_tsr_))
    return refuse_child("peer widened the traffic selectors", now, out);
  std::vector<TrafficSelector> own_tsi = n_tsi;
  if (!conn_->vips.empty() && child_cfg_->local_ts.empty()) {
    // "dynamic" with virtual IPs: our side of the CHILD_SA is the assigned address (strongSwan
    // narrows the responder's TSi to it the same way).
    if (local_vips_.empty()) return refuse_child("the peer assigned no virtual IP", now, out);
    std::vector<TrafficSelector> vips;
    for (const IpAddress& v : local_vips_) vips.push_back(host_selector(v));
    own_tsi = narrow(n_tsi, vips);
    if (own_tsi.empty())
      return refuse_child("its TSi " + to_string(n_tsi) + " does not hold our virtual IP", now,
                          out);
  }
  ChildMode mode = transport && child_cfg_->mode == ChildMode::Transport ? ChildMode::Transport
                                                                         : ChildMode::Tunnel;
  if (!install_child(*child_cfg_, *accepted, pending_child_spi_, spi_value(accepted->spi), own_tsi,
                     n_tsr, mode, {{}, ni_, nr_, true}, out))
    refuse_child("it could not be installed", now, out);
}

void IkeSa::reject_responder(const std::string& why, Timestamp now, Actions& out) {
  log(out, 0, "IKE_AUTH response refused: " + why);
  send_request(ExchangeType::INFORMATIONAL, {make_notify(NotifyType::AUTHENTICATION_FAILED)}, now,
               out);
  fail(out, why);  // no retransmission: the notice is a courtesy, as in strongSwan
}

void IkeSa::refuse_child(const std::string& why, Timestamp now, Actions& out) {
  log(out, 0, "CHILD_SA " + child_cfg_->name + " not created: " + why + "; deleting it at the peer",
      Subsystem::CHD);
  send_request(ExchangeType::INFORMATIONAL,
               {Payload{PayloadType::DELETE, false,
                        DeletePayload{ProtocolId::ESP, 4, {spi_bytes(pending_child_spi_)}}}},
               now, out);
}

}  // namespace ikeme::ike
