#pragma once
// Bounds-checked big-endian readers and writers over byte buffers. A reader never reads past its
// span; every read reports failure instead, so parse code cannot overrun a datagram.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ikeme {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  bool u8(uint8_t& out) {
    if (remaining() < 1) return false;
    out = data_[pos_++];
    return true;
  }
  bool u16(uint16_t& out) {
    if (remaining() < 2) return false;
    out = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& out) {
    if (remaining() < 4) return false;
    out = static_cast<uint32_t>(data_[pos_]) << 24 | static_cast<uint32_t>(data_[pos_ + 1]) << 16 |
          static_cast<uint32_t>(data_[pos_ + 2]) << 8 | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& out) {
    uint32_t hi = 0, lo = 0;
    if (remaining() < 8) return false;
    (void)u32(hi);
    (void)u32(lo);
    out = static_cast<uint64_t>(hi) << 32 | lo;
    return true;
  }
  // A view of the next n bytes; fails if fewer remain.
  bool view(size_t n, ByteView& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool bytes(size_t n, Bytes& out) {
    ByteView v;
    if (!view(n, v)) return false;
    out.assign(v.begin(), v.end());
    return true;
  }
  bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  ByteView rest() {
    ByteView v = data_.subspan(pos_);
    pos_ = data_.size();
    return v;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  size_t size() const { return out_.size(); }
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }
  // Overwrite a 16-bit field written earlier (payload and message lengths).
  void patch_u16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  void patch_u32(size_t at, uint32_t v) {
    patch_u16(at, static_cast<uint16_t>(v >> 16));
    patch_u16(at + 2, static_cast<uint16_t>(v));
  }

 private:
  Bytes& out_;
};

std::string to_hex(ByteView data);

}  // namespace ikeme
