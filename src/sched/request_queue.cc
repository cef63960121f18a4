#include "sched/request_queue.h"

#include <algorithm>

#include "base/check.h"

namespace pagoda {

bool ScheduledBefore(const Request* a, const Request* b) {
  if (a->priority() != b->priority()) return a->priority() < b->priority();
  return a->arrival_time() < b->arrival_time();
}

void RequestQueue::InsertByPriority(Request* request, bool ahead_of_equals) {
  // A new arrival goes after requests with an equal key (insertion order);
  // a returning one goes before them.
  auto pos = ahead_of_equals ? std::lower_bound(queue_.begin(), queue_.end(), request, ScheduledBefore)
                             : std::upper_bound(queue_.begin(), queue_.end(), request, ScheduledBefore);
  queue_.insert(pos, request);
}

void RequestQueue::Add(Request* request) {
  if (policy_ == SchedulingPolicy::kPriority) {
    InsertByPriority(request, /*ahead_of_equals=*/false);
  } else {
    queue_.push_back(request);
  }
}

void RequestQueue::Prepend(Request* request) {
  if (policy_ == SchedulingPolicy::kPriority) {
    InsertByPriority(request, /*ahead_of_equals=*/true);
  } else {
    queue_.push_front(request);
  }
}

Request* RequestQueue::Pop() {
  CHECK(!queue_.empty());
  Request* r = queue_.front();
  queue_.pop_front();
  return r;
}

bool RequestQueue::Remove(const Request* request) {
  auto it = std::find(queue_.begin(), queue_.end(), request);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

}  // namespace pagoda
