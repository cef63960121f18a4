// Safetensors files and Hugging Face model folders.
//
// SafetensorsFile parses one `.safetensors` file (8-byte little-endian header
// length, JSON header, data) and checks every tensor's dtype, shape and
// `data_offsets` against the file: offsets must be in order, inside the data
// section, and match shape x dtype size exactly; overflowing shapes, bad
// JSON, a header length past the end are DataLoss/InvalidArgument Statuses
// naming the file and tensor. Data stays memory-mapped.
//
// HfCheckpoint opens a model folder: `config.json` (required),
// `generation_config.json` (optional), and weights from `model.safetensors`
// or from the shards listed in `model.safetensors.index.json`.
// Both are immutable after Open: safe to read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace pagoda {

struct SafetensorInfo {
  std::string name;
  DType dtype = DType::kF32;      // F32, F16, BF16, F64, I8..I64 ("F32", "F16", "BF16", ...)
  std::vector<uint64_t> shape;    // row-major, slowest-varying first (PyTorch order)
  const uint8_t* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  uint64_t num_elements() const;
};

class SafetensorsFile {
 public:
  static StatusOr<std::shared_ptr<SafetensorsFile>> Open(const std::string& path);
  const std::string& path() const { return file_->path(); }
  const std::vector<SafetensorInfo>& tensors() const { return tensors_; }
  const SafetensorInfo* Find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

 private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> file_;
  std::vector<SafetensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  friend class SafetensorsParser;
};

class HfCheckpoint {
 public:
  static StatusOr<std::shared_ptr<HfCheckpoint>> Open(const std::string& dir);
  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  // Empty object when the folder has no generation_config.json.
  const nlohmann::json& generation_config() const { return generation_config_; }
  // Every tensor of every shard, by name.
  const std::map<std::string, const SafetensorInfo*>& tensors() const { return tensors_; }
  const SafetensorInfo* Find(const std::string& name) const;
  // Every shard's file mapping (the tensors' data point into them).
  std::vector<const MappedFile*> mappings() const;

 private:
  HfCheckpoint() = default;
  std::string dir_;
  nlohmann::json config_;
  nlohmann::json generation_config_ = nlohmann::json::object();
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const SafetensorInfo*> tensors_;
};

// SafetensorsWriter: writes one `.safetensors` file (tensors in insertion
// order, 8-byte aligned header). Not thread-safe.
class SafetensorsWriter {
 public:
  // `shape` row-major (slowest first); `data` exactly the tensor's bytes.
  void Add(const std::string& name, DType dtype, const std::vector<uint64_t>& shape,
           std::vector<uint8_t> data);
  void SetMetadata(const std::string& key, const std::string& value);
  Status WriteTo(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> data;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace pagoda
