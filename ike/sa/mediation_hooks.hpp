#pragma once
// What a mediation server plugs into the IKE engine (IKE-ME, docs/ike-me-protocol.md). The engine
// stays sans-IO and knows nothing of registrations: it tells the hooks when a mediation SA (we are
// its responder) is established or goes away, and hands them every ME_CONNECT request on one; the
// hooks answer with the response's payloads. Anything the hooks want done to *other* SAs (relay a
// request, delete a replaced registration) they queue and apply after the engine call returns,
// through IkeEngine::send_me_connect / terminate_sa, never from inside the callback.

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
  virtual void on_refused(const IkeSa& sa, const std::string& why, Actions& out) = 0;
  // An authenticated ME_CONNECT request on an established mediation SA. Returns the payloads
  // of the response (empty: an empty response, the request was accepted).
  virtual std::vector<Payload> on_me_connect(const IkeSa& sa, const std::vector<Payload>& request,
                                             Timestamp now, Actions& out) = 0;
};

}  // namespace ikeme::ike
