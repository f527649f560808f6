#include "ike/sa/fragment_assembler.hpp"

namespace ikeme::ike {

void FragmentAssembler::reset() {
  total_ = 0;
  first_inner_ = PayloadType::NONE;
  fragments_.clear();
  bytes_ = 0;
}

FragmentAssembler::Added FragmentAssembler::add(uint16_t number, uint16_t total,
                                                PayloadType first_inner, Bytes plaintext) {
  auto reject = [](std::string why) { return Added{Outcome::Rejected, std::move(why), {}, {}}; };
  if (number == 0 || total == 0 || number > total)
    return reject("fragment " + std::to_string(number) + " of " + std::to_string(total));
  if (total > limits_.max_fragments)
    return reject(std::to_string(total) + " fragments exceed the limit of " +
                  std::to_string(limits_.max_fragments));
  if (total < total_) return reject("fragment from an older, shorter fragmentation");
  if (total > total_) reset();
  total_ = total;
  if (fragments_.count(number)) return Added{Outcome::Duplicate, {}, {}, {}};
  if (bytes_ + plaintext.size() > limits_.max_bytes) {
    reset();
    return reject("reassembly would exceed " + std::to_string(limits_.max_bytes) + " bytes");
  }
  if (number == 1) first_inner_ = first_inner;
  bytes_ += plaintext.size();
  fragments_.emplace(number, std::move(plaintext));
  if (fragments_.size() < total_) return Added{Outcome::Incomplete, {}, {}, {}};

  Added done{Outcome::Complete, {}, first_inner_, {}};
  done.plaintext.reserve(bytes_);
  for (auto& [n, data] : fragments_)
    done.plaintext.insert(done.plaintext.end(), data.begin(), data.end());
  reset();
  return done;
}

}  // namespace ikeme::ike
