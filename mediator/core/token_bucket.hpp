#pragma once
// A token bucket on the caller's clock (sans-IO): `rate` tokens per second, at most `burst`.

#include <algorithm>

#include "ike/sa/endpoint.hpp"

namespace ikeme::mediator {

struct TokenBucket {
  double tokens = -1;  // < 0: not started (full)
  ike::Timestamp last{0};

  bool take(double rate, double burst, ike::Timestamp now) {
    if (tokens < 0) {
      tokens = burst;
    } else if (now > last) {
      tokens = std::min(burst, tokens + rate * static_cast<double>((now - last).count()) / 1000.0);
    }
    last = std::max(last, now);
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
  bool full(double rate, double burst, ike::Timestamp now) const {
    return tokens < 0 ||
           tokens + rate * static_cast<double>((now - last).count()) / 1000.0 >= burst;
  }
};

}  // namespace ikeme::mediator
