#pragma once
// What a mediation server plugs into the IKE engine (IKE-ME, docs/ike-me-protocol.md). The engine
// stays sans-IO and knows nothing of registrations: it tells the hooks when a mediation SA (we are
// its responder) is established or goes away, and hands them every ME_CONNECT request on one; the
// hooks answer with the response's payloads. Anything the hooks want done to *other* SAs (relay a
// request, delete a replaced registration) they queue and apply after the engine call returns,
// through IkeEngine::send_me_connect / terminate_sa, never from inside the callback.

#include <optional>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/sa/actions.hpp"
#include "ike/sa/endpoint.hpp"

namespace ikeme::ike {

class IkeSa;

class MediationHooks {
 public:
  virtual ~MediationHooks() = default;
  // A mediation connection on which we are the responder (the server) was just established.
  virtual void on_mediation_established(const IkeSa& sa, Timestamp now, Actions& out) = 0;
  // An IKE SA is being removed (any SA; the hooks ignore those they do not know).
  virtual void on_sa_removed(const IkeSa& sa, Timestamp now, Actions& out) = 0;
  // The engine refused something on a mediation SA it answers: its IKE_AUTH (the SA fails), or
  // a CHILD_SA in it (`why` = "CHILD_SA requested"; the SA stays). The engine logged it already.
  // A server counts these; a peer's client has nothing to add to the log line.
  virtual void on_refused(const IkeSa& /*sa*/, const std::string& /*why*/, Actions& /*out*/) {}
  // An authenticated ME_CONNECT request on an established mediation SA. Returns the payloads
  // of the response (empty: an empty response, the request was accepted).
  virtual std::vector<Payload> on_me_connect(const IkeSa& sa, const std::vector<Payload>& request,
                                             Timestamp now, Actions& out) = 0;

  // --- the client role (a peer that registers at a mediation server); defaults do nothing.
  // Any other IKE SA was just established (our mediation SA as initiator, a mediated SA, ...).
  virtual void on_established(const IkeSa& /*sa*/, Timestamp /*now*/, Actions& /*out*/) {}
  // The response to an ME_CONNECT request we sent on `sa` (requests go one at a time, so
  // responses arrive in the order the requests were queued).
  virtual void on_me_connect_response(const IkeSa& /*sa*/, const std::vector<Payload>& /*payloads*/,
                                      Timestamp /*now*/, Actions& /*out*/) {}
  // Our mediation SA learned a new server-reflexive endpoint (the server's answer to a refresh
  // query): the NAT in front of us rebound. `before` is the one known until now.
  virtual void on_server_reflexive_changed(const IkeSa& /*sa*/,
                                           const std::optional<Endpoint>& /*before*/,
                                           Timestamp /*now*/, Actions& /*out*/) {}
  // An IKE_SA_INIT request carrying N(ME_CONNECTID) arrived on `local` from `remote`: true if
  // it ends a connectivity-check transaction of ours (then it is answered), false to drop it.
  virtual bool accept_mediated_init(ByteView /*connect_id*/, const Endpoint& /*local*/,
                                    const Endpoint& /*remote*/, Timestamp /*now*/,
                                    Actions& /*out*/) {
    return false;
  }
};

}  // namespace ikeme::ike
