#pragma once
// The anti-replay window of an inbound ESP SA (RFC 4303 §3.4.3 and Appendix A), sans-IO.
//
// The receiver keeps the highest authenticated sequence number and a bitmap of the `size`
// numbers ending there. A packet is checked twice: cheaply before its ICV is verified
// (check: a duplicate or a number left of the window is dropped without spending crypto on it),
// and the window only moves after the ICV was verified (accept), so a forged packet can never
// advance it. With ESN the 32-bit number on the wire is extended to 64 bits from the window's
// position (Appendix A2.2) before both steps.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ikeme::esp {

class ReplayWindow {
 public:
  // `size` in packets: a multiple of 64, at least 64 (RFC 4303 asks for at least 32, 64 by
  // default; strongSwan and Linux allow much larger ones for fast links).
  explicit ReplayWindow(uint32_t size = 1024);

  uint32_t size() const { return size_; }
  uint64_t highest() const { return top_; }  // 0 = nothing accepted yet

  // The full 64-bit sequence number for a received low half: `seq_lo` itself without ESN; with
  // ESN the high half is guessed from the window (RFC 4303 A2.2): a number far below the window's
  // bottom is taken as having wrapped into the next 2^32 block, one above its top in the current
  // block, and so on.
  uint64_t extend(uint32_t seq_lo, bool esn) const;

  enum class Verdict { Ok, Duplicate, TooOld, Zero };
  // Before integrity: may this number be new? (0 is never valid: the first packet is 1.)
  Verdict check(uint64_t seq) const;
  // After integrity: records `seq` (check() must have said Ok), moving the window right if it
  // is beyond the top.
  void accept(uint64_t seq);

 private:
  bool bit(uint64_t seq) const;
  void set_bit(uint64_t seq);
  void clear_bit(uint64_t seq);

  uint32_t size_;
  uint64_t top_ = 0;            // highest accepted sequence number
  std::vector<uint64_t> bits_;  // bit (seq % size_) for seq in (top_-size_, top_]
};

}  // namespace ikeme::esp
