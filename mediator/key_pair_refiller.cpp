#include "mediator/key_pair_refiller.hpp"

#include <algorithm>
#include <memory>

#include "ike/crypto/random.hpp"

namespace ikeme::mediator {

struct KeyPairRefiller::Job {
  uv_work_t req{};
  KeyPairRefiller* owner = nullptr;
  ike::DhGroup group{};
  size_t count = 0;
  std::vector<std::unique_ptr<ike::crypto::KeyExchange>> keys;  // filled on the pool thread
};

std::vector<std::unique_ptr<ike::crypto::KeyExchange>> KeyPairRefiller::generate(ike::DhGroup group,
                                                                                 size_t count) {
  std::vector<std::unique_ptr<ike::crypto::KeyExchange>> keys;
  auto rng = ike::crypto::DrbgRng::create();
  if (!rng) return keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto ke = ike::crypto::KeyExchange::create(group, **rng);
    if (!ke) break;
    keys.push_back(std::move(ke.value()));
  }
  return keys;
}

void KeyPairRefiller::top_up() {
  for (ike::DhGroup g : pool_.groups()) top_up(g);
}

void KeyPairRefiller::top_up(ike::DhGroup group) {
  if (cancelled_) return;
  while (size_t count = pool_.plan_job(group)) {
    auto job = std::make_unique<Job>();
    job->req.data = job.get();
    job->owner = this;
    job->group = group;
    job->count = count;
    if (uv_queue_work(loop_, &job->req, &KeyPairRefiller::work, &KeyPairRefiller::after) != 0) {
      ++jobs_failed_;
      pool_.delivered(group, count, {});  // the engine generates inline meanwhile
      return;
    }
    jobs_.insert(job.release());
  }
}

void KeyPairRefiller::work(uv_work_t* req) {
  // Pool thread: touches only this job (its own DRBG and key objects).
  auto* job = static_cast<Job*>(req->data);
  job->keys = generate(job->group, job->count);
}

void KeyPairRefiller::after(uv_work_t* req, int status) {
  std::unique_ptr<Job> job(static_cast<Job*>(req->data));
  KeyPairRefiller& self = *job->owner;
  self.jobs_.erase(job.get());
  if (status != 0 || self.cancelled_) {
    self.pool_.delivered(job->group, job->count, {});  // job->keys are wiped with the job
    return;
  }
  if (job->keys.size() < job->count) ++self.jobs_failed_;
  const bool complete = job->keys.size() == job->count;
  self.pool_.delivered(job->group, job->count, std::move(job->keys));
  if (complete) self.top_up(job->group);  // a failing group waits for the next take
}

ike::KeyExchangeFactory KeyPairRefiller::factory() {
  return [this](ike::DhGroup group, ike::crypto::Rng& rng)
             -> Result<std::unique_ptr<ike::crypto::KeyExchange>, ike::crypto::CryptoError> {
    std::unique_ptr<ike::crypto::KeyExchange> ke = pool_.take(group);
    top_up(group);
    if (ke) return ke;
    return ike::crypto::KeyExchange::create(group, rng);
  };
}

void KeyPairRefiller::cancel_all() {
  cancelled_ = true;
  for (Job* job : jobs_) uv_cancel(reinterpret_cast<uv_req_t*>(&job->req));
}

std::vector<ike::DhGroup> proposed_dh_groups(
    const std::vector<ike::ConnectionConfig>& connections) {
  std::vector<ike::DhGroup> groups;
  for (const ike::ConnectionConfig& c : connections)
    for (const ike::Proposal& p : c.proposals)
      for (const ike::Transform& t : p.transforms)
        if (t.type == ike::TransformType::DH) {
          auto g = static_cast<ike::DhGroup>(t.id);
          if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
        }
  return groups;
}

}  // namespace ikeme::mediator
