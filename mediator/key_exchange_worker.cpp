#include "mediator/key_exchange_worker.hpp"

#include <memory>
#include <optional>

namespace ikeme::mediator {

struct KeyExchangeWorker::Item {
  uv_work_t req{};
  KeyExchangeWorker* owner = nullptr;
  ike::KeyExchangeJob job;
  std::optional<Result<Bytes, ike::crypto::CryptoError>> result;  // set on the pool thread
};

void KeyExchangeWorker::submit(ike::KeyExchangeJob job) {
  if (cancelled_) return;
  auto item = std::make_unique<Item>();
  item->req.data = item.get();
  item->owner = this;
  item->job = std::move(job);
  if (uv_queue_work(loop_, &item->req, &KeyExchangeWorker::work, &KeyExchangeWorker::after) != 0) {
    ++computed_;
    done_(item->job, item->job.compute());
    return;
  }
  items_.insert(item.release());
}

void KeyExchangeWorker::work(uv_work_t* req) {
  // Pool thread: touches only this item (its own copy of the private value and peer value).
  auto* item = static_cast<Item*>(req->data);
  item->result.emplace(item->job.compute());
}

void KeyExchangeWorker::after(uv_work_t* req, int status) {
  std::unique_ptr<Item> item(static_cast<Item*>(req->data));
  KeyExchangeWorker& self = *item->owner;
  self.items_.erase(item.get());
  if (status != 0 || self.cancelled_ || !item->result) {
    if (item->result && *item->result)
      std::fill((*item->result)->begin(), (*item->result)->end(), 0);
    return;
  }
  ++self.computed_;
  self.done_(item->job, std::move(*item->result));
}

void KeyExchangeWorker::cancel_all() {
  cancelled_ = true;
  for (Item* item : items_) uv_cancel(reinterpret_cast<uv_req_t*>(&item->req));
}

}  // namespace ikeme::mediator
