// RequestQueue: the scheduler's waiting queue, ordered by its policy.
//   kFcfs:     arrival order; a preempted request goes back to the front.
//   kPriority: by (priority, arrival_time), lower first; ties keep insertion
//              order. A preempted request is re-inserted by the same key
//              (ahead of equal keys), so it goes before everything that
//              arrived after it.
// Holds non-owning pointers (the Scheduler owns requests). Engine thread
// only: not thread-safe, by design.
#pragma once

#include <cstddef>
#include <deque>

#include "sched/request.h"

namespace pagoda {

// True when a is scheduled before b under kPriority: (priority, arrival_time).
bool ScheduledBefore(const Request* a, const Request* b);

enum class SchedulingPolicy { kFcfs, kPriority };

class RequestQueue {
 public:
  explicit RequestQueue(SchedulingPolicy policy) : policy_(policy) {}

  // A new arrival.
  void Add(Request* request);
  // A request that must go first among its peers (preempted, or skipped
  // over this step).
  void Prepend(Request* request);
  Request* Peek() const { return queue_.front(); }
  Request* Pop();
  // Removes the request if present; returns whether it was.
  bool Remove(const Request* request);

  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  auto begin() const { return queue_.begin(); }
  auto end() const { return queue_.end(); }

 private:
  void InsertByPriority(Request* request, bool ahead_of_equals);

  SchedulingPolicy policy_;
  std::deque<Request*> queue_;
};

}  // namespace pagoda
