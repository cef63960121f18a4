// Binding checkpoint tensors to ModelWeights: one table of (GGUF name,
// Hugging Face name) per weight, shape and type checks, and conversion of
// the small vectors to float, then the load-time repacking of MatMul
// weights (model/weight_repack.h). Errors name the file and the tensor.
// Stateless functions: thread-safe.
#pragma once

#include <memory>

#include "base/status.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace pagoda {

class GgufFile;
class HfCheckpoint;

StatusOr<ModelWeights> BindGgufWeights(const ModelConfig& config,
                                       const std::shared_ptr<GgufFile>& gguf);
StatusOr<ModelWeights> BindHfWeights(const ModelConfig& config,
                                     const std::shared_ptr<HfCheckpoint>& ckpt);

}  // namespace pagoda
