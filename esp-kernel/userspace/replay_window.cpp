#include "esp-kernel/userspace/replay_window.hpp"

#include <algorithm>

namespace ikeme::esp {

ReplayWindow::ReplayWindow(uint32_t size)
    : size_(std::max<uint32_t>(64, (size + 63) / 64 * 64)), bits_(size_ / 64, 0) {}

bool ReplayWindow::bit(uint64_t seq) const {
  uint64_t i = seq % size_;
  return (bits_[i / 64] >> (i % 64)) & 1;
}

void ReplayWindow::set_bit(uint64_t seq) {
  uint64_t i = seq % size_;
  bits_[i / 64] |= uint64_t{1} << (i % 64);
}

void ReplayWindow::clear_bit(uint64_t seq) {
  uint64_t i = seq % size_;
  bits_[i / 64] &= ~(uint64_t{1} << (i % 64));
}

uint64_t ReplayWindow::extend(uint32_t seq_lo, bool esn) const {
  if (!esn) return seq_lo;
  // RFC 4303 A2.2: Tl/Th are the low/high halves of the top, Bl the low half of the bottom.
  const uint64_t th = top_ >> 32;
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint32_t w = size_;
  if (tl >= w - 1) {
    // The window lies within one 2^32 block.
    const uint32_t bl = tl - w + 1;
    if (seq_lo >= bl) return (th << 32) | seq_lo;
    return ((th + 1) << 32) | seq_lo;  // below the bottom: it wrapped to the next block
  }
  // The window spans two blocks: its bottom is in the previous one.
  const uint32_t bl = tl - w + 1;  // wraps modulo 2^32
  if (seq_lo >= bl && th > 0) return ((th - 1) << 32) | seq_lo;
  return (th << 32) | seq_lo;
}

ReplayWindow::Verdict ReplayWindow::check(uint64_t seq) const {
  if (seq == 0) return Verdict::Zero;
  if (seq > top_) return Verdict::Ok;
  if (top_ - seq >= size_) return Verdict::TooOld;
  return bit(seq) ? Verdict::Duplicate : Verdict::Ok;
}

void ReplayWindow::accept(uint64_t seq) {
  if (seq > top_) {
    uint64_t shift = seq - top_;
    if (shift >= size_) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      // Clear the slots of the numbers that now enter the window (they were left of it).
      for (uint64_t s = top_ + 1; s < seq; ++s) clear_bit(s);
      clear_bit(seq);
    }
    top_ = seq;
  }
  set_bit(seq);
}

}  // namespace ikeme::esp
