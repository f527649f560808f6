#pragma once
// Reassembly of one IKE message from its decrypted SKF fragments (RFC 7383 §2.6), with limits on
// the fragment count and the reassembled size so that a peer cannot make us hoard memory.

#include <cstdint>
#include <map>
#include <string>

#include "ike/codec/bytes.hpp"
#include "ike/codec/constants.hpp"

namespace ikeme::ike {

struct FragmentLimits {
  uint16_t max_fragments = 64;
  size_t max_bytes = 64 * 1024;
};

class FragmentAssembler {
 public:
  enum class Outcome { Incomplete, Complete, Duplicate, Rejected };
  struct Added {
    Outcome outcome = Outcome::Incomplete;
    std::string reason;                           // for Rejected
    PayloadType first_inner = PayloadType::NONE;  // for Complete
    Bytes plaintext;                              // for Complete: the inner payload chain
  };

  explicit FragmentAssembler(FragmentLimits limits = {}) : limits_(limits) {}

  // Adds fragment `number` of `total`. `first_inner` is the Next Payload field of the fragment
  // (non-zero only in fragment 1). A fragment announcing a higher total than earlier ones
  // restarts the reassembly; one announcing a lower total is rejected (RFC 7383 §2.6).
  Added add(uint16_t number, uint16_t total, PayloadType first_inner, Bytes plaintext);

  size_t buffered_bytes() const { return bytes_; }
  void reset();

 private:
  FragmentLimits limits_;
  uint16_t total_ = 0;
  PayloadType first_inner_ = PayloadType::NONE;
  std::map<uint16_t, Bytes> fragments_;
  size_t bytes_ = 0;
};

}  // namespace ikeme::ike
