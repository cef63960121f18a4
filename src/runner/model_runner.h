// ModelRunner: executes one SchedulerOutput. It flattens the scheduled
// requests into a BatchInput (token ids, positions, slot mapping, block
// tables), runs the model's forward pass, and samples one token for every
// request that reached the end of its known tokens this step.
//
// It keeps per-request state across steps (the sampling options and the
// request's seeded generator) from the step a request is first scheduled
// until the scheduler reports it finished, so a request preempted and
// recomputed continues the same random stream. Owned and called by the
// engine thread only: not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sched/scheduler_output.h"

namespace pagoda {

class ModelRunner {
 public:
  ModelRunner(const Model* model, KvCache* cache, ThreadPool* pool);

  ModelRunnerOutput Execute(const SchedulerOutput& out);

  // The inputs of the last step (for tests that inspect slot mappings).
  const BatchInput& last_batch() const { return batch_; }

 private:
  struct RequestState {
    SamplingOptions options;
    SamplerRng rng;
  };
  void BuildBatch(const SchedulerOutput& out);

  const Model* model_;
  KvCache* cache_;
  ThreadPool* pool_;
  Workspace ws_;
  BatchInput batch_;
  std::vector<float> logits_;
  std::unordered_map<std::string, RequestState> states_;
};

}  // namespace pagoda
