#pragma once
// The mediation server's limits and timers (mediator config `mediator.limits`; docs/mediator.md).

#include <cstddef>

#include "ike/sa/endpoint.hpp"

namespace ikeme::config {

struct Limits {
  size_t max_endpoints = 16;        // ME_ENDPOINT notifies in one ME_CONNECT request
  size_t max_pending_per_peer = 8;  // unanswered relays plus waiting callbacks per pseudonym
  double connects_per_second = 5;   // ME_CONNECT requests per pseudonym (token bucket rate)
  double connects_burst = 10;       // ... and bucket size
  double inits_per_second = 20;     // IKE_SA_INIT requests per source address
  double inits_burst = 40;
  size_t max_tracked_sources = 65536;      // per-address buckets kept at most
  size_t max_registrations = 1000000;      // registered pseudonyms at most
  ike::Duration relay_timeout{30000};      // B's answer to a relayed ME_CONNECT
  ike::Duration callback_timeout{600000};  // a remembered ME_CALLBACK
};

}  // namespace ikeme::config
