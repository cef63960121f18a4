// GgufFile: a parsed, validated, memory-mapped GGUF file (versions 2 and 3).
//
// Open() reads the header, every metadata key/value (all GGUF value types,
// arrays included, nested arrays too) and every tensor info, and checks them
// against the file's size: every count, string length, dimension product and
// tensor extent is bounds-checked before use, so a truncated or hostile file
// yields a DataLoss / InvalidArgument Status naming the file and the problem,
// never an out-of-bounds read. Tensor data stays in the mapping.
// Immutable after Open: safe to read from any number of threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mmap.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace pagoda {

// GGUF metadata value types, with their on-disk ids.
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
  kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11,
  kFloat64 = 12,
};

// "uint8", "string", "array", ... (for messages).
std::string GgufTypeName(GgufType t);

// One metadata value. Scalars of every integer width are kept in i64/u64 (as
// signed/unsigned by their type), floats in f64. Arrays keep their element
// type and their elements in the vector matching it (strings in `strs`,
// integers in `ints`, floats in `floats`, bools in `ints`, nested arrays in
// `arrays`).
struct GgufValue {
  GgufType type = GgufType::kUint8;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  double f64 = 0;
  bool b = false;
  std::string str;
  GgufType array_type = GgufType::kUint8;
  std::vector<std::string> strs;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<GgufValue> arrays;
  uint64_t array_size() const;  // element count for arrays, 0 otherwise
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // dims, fastest-varying first (ggml order)
  DType dtype = DType::kF32;
  uint64_t offset = 0;       // from the start of the data section
  const uint8_t* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  uint64_t num_elements() const;
};

class GgufFile {
 public:
  static StatusOr<std::shared_ptr<GgufFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const GgufValue* Find(const std::string& key) const;

  // Typed look-ups; nullopt when the key is absent or of an incompatible type.
  // GetInt/GetUint accept any integer type (and range-check), GetFloat float32/64.
  std::optional<int64_t> GetInt(const std::string& key) const;
  std::optional<uint64_t> GetUint(const std::string& key) const;
  std::optional<double> GetFloat(const std::string& key) const;
  std::optional<bool> GetBool(const std::string& key) const;
  std::optional<std::string> GetString(const std::string& key) const;
  const std::vector<std::string>* GetStringArray(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;

 private:
  GgufFile() = default;
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

// GgufWriter: builds a GGUF file (version 3 by default) in memory order and
// writes it out. Used by `pagoda mkmodel` and by tests that make files.
// Not thread-safe.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint64_t alignment = 32);
  void SetUint32(const std::string& key, uint32_t v);
  void SetInt32(const std::string& key, int32_t v);
  void SetUint64(const std::string& key, uint64_t v);
  void SetFloat32(const std::string& key, float v);
  void SetBool(const std::string& key, bool v);
  void SetString(const std::string& key, const std::string& v);
  void SetValue(const std::string& key, const GgufValue& v);  // any type
  void SetStringArray(const std::string& key, const std::vector<std::string>& v);
  void SetFloat32Array(const std::string& key, const std::vector<float>& v);
  void SetInt32Array(const std::string& key, const std::vector<int32_t>& v);
  // `ne` fastest-first; `data` must hold exactly the tensor's bytes.
  void AddTensor(const std::string& name, const std::vector<uint64_t>& ne, DType dtype,
                 std::vector<uint8_t> data);
  Status WriteTo(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> ne;
    DType dtype;
    std::vector<uint8_t> data;
  };
  uint32_t version_;
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace pagoda
