#include "mediator/key_pair_pool.hpp"

#include <algorithm>

namespace ikeme::mediator {

KeyPairPool::KeyPairPool(std::vector<ike::DhGroup> groups, Limits limits) : limits_(limits) {
  limits_.high = std::max<size_t>(limits_.high, 1);
  limits_.low = std::min(limits_.low, limits_.high);
  limits_.batch = std::clamp<size_t>(limits_.batch, 1, limits_.high);
  limits_.max_jobs = std::max<size_t>(limits_.max_jobs, 1);
  for (ike::DhGroup g : groups)
    if (ike::crypto::KeyExchange::is_supported(g)) groups_[g];
}

std::unique_ptr<ike::crypto::KeyExchange> KeyPairPool::take(ike::DhGroup group) {
  auto it = groups_.find(group);
  if (it == groups_.end() || it->second.ready.empty()) {
    ++stats_.missed;
    return nullptr;
  }
  std::unique_ptr<ike::crypto::KeyExchange> ke = std::move(it->second.ready.front());
  it->second.ready.pop_front();
  ++stats_.taken;
  return ke;
}

size_t KeyPairPool::plan_job(ike::DhGroup group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return 0;
  Group& g = it->second;
  const size_t have = g.ready.size() + g.in_flight_keys;
  // Hysteresis: a refill starts below the low watermark and goes on up to the high one, so a
  // steady trickle of takes does not start a tiny job per take.
  if (have < limits_.low) g.filling = true;
  if (have >= limits_.high) g.filling = false;
  if (!g.filling || g.jobs >= limits_.max_jobs) return 0;
  const size_t count = std::min(limits_.batch, limits_.high - have);
  g.in_flight_keys += count;
  ++g.jobs;
  return count;
}

void KeyPairPool::delivered(ike::DhGroup group, size_t count,
                            std::vector<std::unique_ptr<ike::crypto::KeyExchange>> keys) {
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    stats_.discarded += keys.size();
    return;
  }
  Group& g = it->second;
  g.in_flight_keys -= std::min(count, g.in_flight_keys);
  if (g.jobs > 0) --g.jobs;
  for (auto& ke : keys) {
    if (!ke || ke->group() != group || g.ready.size() >= limits_.high) {
      if (ke) ++stats_.discarded;
      continue;
    }
    g.ready.push_back(std::move(ke));
    ++stats_.added;
  }
}

std::vector<ike::DhGroup> KeyPairPool::groups() const {
  std::vector<ike::DhGroup> out;
  for (const auto& [g, _] : groups_) out.push_back(g);
  return out;
}

size_t KeyPairPool::ready(ike::DhGroup group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.ready.size();
}

size_t KeyPairPool::in_flight(ike::DhGroup group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.in_flight_keys;
}

KeyPairPool::Limits key_pair_pool_limits(size_t max_per_group) {
  KeyPairPool::Limits l;
  l.high = std::max<size_t>(max_per_group, 1);
  l.low = std::max<size_t>(l.high / 2, 1);
  l.batch = std::clamp<size_t>(l.high / 4, 1, 32);
  l.max_jobs = 2;
  return l;
}

}  // namespace ikeme::mediator
