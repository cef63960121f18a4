// GGUF reader: parses and validates a memory-mapped GGUF v2/v3 file.
//
// The file is untrusted input. Every read goes through GgufParser::Need(),
// which checks the remaining bytes first; every count read from the file is
// compared against the bytes that could possibly hold it before anything is
// allocated, so a corrupted count cannot make us reserve gigabytes.

#include "formats/gguf.h"

#include <bit>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

namespace pagoda {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader maps little-endian files directly");

namespace {

constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;         // deep enough for any real file, bounded stack
constexpr uint64_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT

// Smallest encoding of one value of `t` (for arrays: an empty array), used to
// refuse counts that the rest of the file cannot possibly hold.
uint64_t MinEncodedSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: return 8;      // length only
    case GgufType::kArray: return 4 + 8;   // element type + count
  }
  return 1;
}

bool IsIntegerType(GgufType t) {
  switch (t) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kUint16:
    case GgufType::kInt16: case GgufType::kUint32: case GgufType::kInt32:
    case GgufType::kUint64: case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

bool IsSignedType(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

bool AddOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

}  // namespace

std::string GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kUint8: return "uint8";
    case GgufType::kInt8: return "int8";
    case GgufType::kUint16: return "uint16";
    case GgufType::kInt16: return "int16";
    case GgufType::kUint32: return "uint32";
    case GgufType::kInt32: return "int32";
    case GgufType::kFloat32: return "float32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "uint64";
    case GgufType::kInt64: return "int64";
    case GgufType::kFloat64: return "float64";
  }
  return "type " + std::to_string(static_cast<uint32_t>(t));
}

uint64_t GgufValue::array_size() const {
  if (type != GgufType::kArray) return 0;
  switch (array_type) {
    case GgufType::kString: return strs.size();
    case GgufType::kFloat32: case GgufType::kFloat64: return floats.size();
    case GgufType::kArray: return arrays.size();
    default: return ints.size();
  }
}

uint64_t GgufTensorInfo::num_elements() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;  // validated against overflow at Open
  return n;
}

// Walks the mapping front to back. Lives in namespace pagoda (not an anonymous
// one) because GgufFile names it as a friend.
class GgufParser {
 public:
  explicit GgufParser(std::shared_ptr<MappedFile> file)
      : file_(std::move(file)), data_(file_->data()), size_(file_->size()) {}

  StatusOr<std::shared_ptr<GgufFile>> Parse();

 private:
  Status Fail(StatusCode code, const std::string& what) const {
    return Status(code, file_->path() + ": " + what);
  }
  Status Corrupt(const std::string& what) const { return Fail(StatusCode::kDataLoss, what); }

  uint64_t remaining() const { return size_ - pos_; }

  // Fails unless `n` more bytes are in the file; `what` says what we wanted.
  Status Need(uint64_t n, std::string_view what) const {
    if (n <= remaining()) return Status::Ok();
    return Corrupt("file is truncated: " + std::string(what) + " of " + context_ +
                   " needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                   " but the file size is " + std::to_string(size_));
  }

  template <typename T>
  Status ReadPod(T* out, std::string_view what) {
    RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string* out, std::string_view what) {
    uint64_t len = 0;
    RETURN_IF_ERROR(ReadPod(&len, "string length"));
    // Checked before the allocation: a corrupted length cannot reserve memory.
    RETURN_IF_ERROR(Need(len, what));
    out->assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return Status::Ok();
  }

  Status ReadType(GgufType* out, std::string_view what) {
    uint32_t raw = 0;
    RETURN_IF_ERROR(ReadPod(&raw, what));
    if (raw > static_cast<uint32_t>(GgufType::kFloat64)) {
      return Corrupt(context_ + " has unknown value type " + std::to_string(raw) +
                     " (at offset " + std::to_string(pos_ - 4) + ")");
    }
    *out = static_cast<GgufType>(raw);
    return Status::Ok();
  }

  Status ReadScalar(GgufType type, GgufValue* v);
  Status ReadValue(GgufType type, GgufValue* v, int depth);
  Status ReadArray(GgufValue* v, int depth);
  Status ReadMetadata(GgufFile* f, uint64_t kv_count);
  Status ReadTensorInfos(GgufFile* f, uint64_t tensor_count);
  Status ResolveAlignment(GgufFile* f);
  Status PlaceTensors(GgufFile* f);

  std::shared_ptr<MappedFile> file_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string context_ = "the header";  // what is being read, for messages
};

Status GgufParser::ReadScalar(GgufType type, GgufValue* v) {
  v->type = type;
  auto set_unsigned = [v](uint64_t x) {
    v->u64 = x;
    if (x <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      v->i64 = static_cast<int64_t>(x);
    }
  };
  auto set_signed = [v](int64_t x) {
    v->i64 = x;
    if (x >= 0) v->u64 = static_cast<uint64_t>(x);
  };
  switch (type) {
    case GgufType::kUint8: { uint8_t x; RETURN_IF_ERROR(ReadPod(&x, "uint8 value")); set_unsigned(x); break; }
    case GgufType::kInt8: { int8_t x; RETURN_IF_ERROR(ReadPod(&x, "int8 value")); set_signed(x); break; }
    case GgufType::kUint16: { uint16_t x; RETURN_IF_ERROR(ReadPod(&x, "uint16 value")); set_unsigned(x); break; }
    case GgufType::kInt16: { int16_t x; RETURN_IF_ERROR(ReadPod(&x, "int16 value")); set_signed(x); break; }
    case GgufType::kUint32: { uint32_t x; RETURN_IF_ERROR(ReadPod(&x, "uint32 value")); set_unsigned(x); break; }
    case GgufType::kInt32: { int32_t x; RETURN_IF_ERROR(ReadPod(&x, "int32 value")); set_signed(x); break; }
    case GgufType::kUint64: { uint64_t x; RETURN_IF_ERROR(ReadPod(&x, "uint64 value")); set_unsigned(x); break; }
    case GgufType::kInt64: { int64_t x; RETURN_IF_ERROR(ReadPod(&x, "int64 value")); set_signed(x); break; }
    case GgufType::kFloat32: { float x; RETURN_IF_ERROR(ReadPod(&x, "float32 value")); v->f64 = x; break; }
    case GgufType::kFloat64: { double x; RETURN_IF_ERROR(ReadPod(&x, "float64 value")); v->f64 = x; break; }
    case GgufType::kBool: {
      uint8_t x;
      RETURN_IF_ERROR(ReadPod(&x, "bool value"));
      // The format defines only 0 and 1; anything else means a corrupted byte.
      if (x > 1) {
        return Corrupt(context_ + " has a bool of value " + std::to_string(x) +
                       " (at offset " + std::to_string(pos_ - 1) + ")");
      }
      v->b = x != 0;
      v->i64 = x;
      v->u64 = x;
      break;
    }
    case GgufType::kString: RETURN_IF_ERROR(ReadString(&v->str, "string")); break;
    case GgufType::kArray: return Fail(StatusCode::kInternal, "array read as a scalar");
  }
  return Status::Ok();
}

Status GgufParser::ReadValue(GgufType type, GgufValue* v, int depth) {
  if (type == GgufType::kArray) return ReadArray(v, depth);
  return ReadScalar(type, v);
}

Status GgufParser::ReadArray(GgufValue* v, int depth) {
  v->type = GgufType::kArray;
  if (depth >= kMaxArrayNesting) {
    return Corrupt(context_ + " nests arrays more than " + std::to_string(kMaxArrayNesting) +
                   " deep");
  }
  RETURN_IF_ERROR(ReadType(&v->array_type, "array element type"));
  uint64_t n = 0;
  RETURN_IF_ERROR(ReadPod(&n, "array length"));
  const uint64_t min_size = MinEncodedSize(v->array_type);
  if (n > remaining() / min_size) {
    return Corrupt(context_ + " claims an array of " + std::to_string(n) + " " +
                   GgufTypeName(v->array_type) + " elements, more than the " +
                   std::to_string(remaining()) + " bytes left in the file can hold");
  }
  const GgufType et = v->array_type;
  switch (et) {
    case GgufType::kString:
      v->strs.resize(n);
      for (uint64_t i = 0; i < n; ++i) RETURN_IF_ERROR(ReadString(&v->strs[i], "array string"));
      break;
    case GgufType::kArray:
      v->arrays.resize(n);
      for (uint64_t i = 0; i < n; ++i) RETURN_IF_ERROR(ReadArray(&v->arrays[i], depth + 1));
      break;
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      v->floats.resize(n);
      GgufValue tmp;
      for (uint64_t i = 0; i < n; ++i) {
        RETURN_IF_ERROR(ReadScalar(et, &tmp));
        v->floats[i] = tmp.f64;
      }
      break;
    }
    default: {
      // Integers and bools. uint64 values above INT64_MAX keep their bits
      // (two's complement), so the writer round-trips them exactly.
      v->ints.resize(n);
      GgufValue tmp;
      for (uint64_t i = 0; i < n; ++i) {
        RETURN_IF_ERROR(ReadScalar(et, &tmp));
        v->ints[i] = IsSignedType(et) ? tmp.i64 : static_cast<int64_t>(tmp.u64);
      }
      break;
    }
  }
  return Status::Ok();
}

Status GgufParser::ReadMetadata(GgufFile* f, uint64_t kv_count) {
  for (uint64_t i = 0; i < kv_count; ++i) {
    context_ = "metadata entry " + std::to_string(i);
    std::string key;
    RETURN_IF_ERROR(ReadString(&key, "key"));
    context_ = "metadata key '" + key + "'";
    if (f->kv_.count(key) != 0) return Corrupt("duplicate metadata key '" + key + "'");
    GgufType type;
    RETURN_IF_ERROR(ReadType(&type, "value type"));
    GgufValue v;
    RETURN_IF_ERROR(ReadValue(type, &v, 0));
    f->kv_.emplace(std::move(key), std::move(v));
  }
  return Status::Ok();
}

Status GgufParser::ReadTensorInfos(GgufFile* f, uint64_t tensor_count) {
  f->tensors_.reserve(tensor_count);  // bounded by the caller against the file size
  for (uint64_t i = 0; i < tensor_count; ++i) {
    context_ = "tensor info " + std::to_string(i);
    GgufTensorInfo t;
    RETURN_IF_ERROR(ReadString(&t.name, "tensor name"));
    // Tensors are looked up by name; a nameless one is a corrupted info.
    if (t.name.empty()) return Corrupt(context_ + " has an empty name");
    context_ = "tensor '" + t.name + "'";
    if (f->tensor_index_.count(t.name) != 0) {
      return Corrupt("duplicate tensor name '" + t.name + "'");
    }
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(ReadPod(&n_dims, "dimension count"));
    if (n_dims > kMaxDims) {
      return Corrupt(context_ + " has " + std::to_string(n_dims) + " dimensions (at most " +
                     std::to_string(kMaxDims) + ")");
    }
    t.ne.resize(n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      RETURN_IF_ERROR(ReadPod(&t.ne[d], "dimension"));
      // ggml keeps dims as int64: anything above INT64_MAX is a negative size.
      if (t.ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          MulOverflows(elements, t.ne[d], &elements)) {
        return Corrupt(context_ + " has dimensions whose element count overflows");
      }
    }
    uint32_t ggml_type = 0;
    RETURN_IF_ERROR(ReadPod(&ggml_type, "tensor type"));
    std::optional<DType> dtype = DTypeFromGgml(ggml_type);
    if (!dtype) {
      return Fail(StatusCode::kUnimplemented,
                  context_ + " has unknown or unsupported ggml tensor type " +
                      std::to_string(ggml_type));
    }
    t.dtype = *dtype;
    RETURN_IF_ERROR(ReadPod(&t.offset, "data offset"));

    // Size: RowBytes(ne0) * ne1 * ne2 * ne3, every step overflow-checked.
    const uint64_t ne0 = n_dims > 0 ? t.ne[0] : 1;
    std::optional<size_t> row = RowBytes(t.dtype, ne0);
    if (!row) {
      const DTypeInfo& info = GetDTypeInfo(t.dtype);
      if (ne0 % static_cast<uint64_t>(info.block_size) != 0) {
        return Corrupt(context_ + " has " + std::to_string(ne0) + " elements per row, not a " +
                       "multiple of the " + std::string(info.name) + " block size " +
                       std::to_string(info.block_size));
      }
      return Corrupt(context_ + " row size overflows");
    }
    uint64_t bytes = *row;
    for (uint32_t d = 1; d < n_dims; ++d) {
      if (MulOverflows(bytes, t.ne[d], &bytes)) {
        return Corrupt(context_ + " byte size overflows");
      }
    }
    if (bytes > std::numeric_limits<size_t>::max()) {
      return Corrupt(context_ + " byte size overflows");
    }
    t.nbytes = static_cast<size_t>(bytes);
    f->tensor_index_.emplace(t.name, f->tensors_.size());
    f->tensors_.push_back(std::move(t));
  }
  return Status::Ok();
}

Status GgufParser::ResolveAlignment(GgufFile* f) {
  f->alignment_ = kDefaultAlignment;
  const GgufValue* v = f->Find("general.alignment");
  if (v == nullptr) return Status::Ok();
  // The format says uint32; any integer type carrying a sane value is accepted.
  if (!IsIntegerType(v->type)) {
    return Corrupt("general.alignment has type " + GgufTypeName(v->type) +
                   ", expected an unsigned integer");
  }
  const uint64_t a = v->u64;
  if ((IsSignedType(v->type) && v->i64 <= 0) || a == 0 || (a & (a - 1)) != 0) {
    return Corrupt("general.alignment must be a nonzero power of two, got " +
                   (IsSignedType(v->type) ? std::to_string(v->i64) : std::to_string(a)));
  }
  f->alignment_ = a;
  return Status::Ok();
}

Status GgufParser::PlaceTensors(GgufFile* f) {
  const uint64_t align = f->alignment_;
  // The data section starts at the first aligned offset after the infos.
  uint64_t data_start = 0;
  if (AddOverflows(pos_, align - 1, &data_start)) {
    return Corrupt("data section offset overflows with alignment " + std::to_string(align));
  }
  data_start &= ~(align - 1);
  for (GgufTensorInfo& t : f->tensors_) {
    if (t.offset % align != 0) {
      return Corrupt("tensor '" + t.name + "' data offset " + std::to_string(t.offset) +
                     " is not a multiple of the alignment " + std::to_string(align));
    }
    uint64_t begin = 0, end = 0;
    if (AddOverflows(data_start, t.offset, &begin) || AddOverflows(begin, t.nbytes, &end) ||
        end > size_) {
      return Corrupt("tensor '" + t.name + "' extends past the end of the file (offset " +
                     std::to_string(t.offset) + ", size " + std::to_string(t.nbytes) +
                     ", data section at " + std::to_string(data_start) + ", file size " +
                     std::to_string(size_) + ")");
    }
    t.data = data_ + begin;
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<GgufFile>> GgufParser::Parse() {
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->file_ = file_;

  char magic[4];
  RETURN_IF_ERROR(ReadPod(&magic, "magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return Corrupt("not a GGUF file (bad magic; the first 4 bytes should be \"GGUF\")");
  }
  RETURN_IF_ERROR(ReadPod(&f->version_, "version"));
  if (f->version_ == 1) {
    return Fail(StatusCode::kUnimplemented,
                "GGUF version 1 is not supported (its 32-bit counts were replaced in "
                "version 2); convert the file with a current llama.cpp");
  }
  if (f->version_ != 2 && f->version_ != 3) {
    return Fail(StatusCode::kUnimplemented,
                "unsupported GGUF version " + std::to_string(f->version_) +
                    " (pagoda reads versions 2 and 3; a huge number suggests a "
                    "big-endian file)");
  }
  uint64_t tensor_count = 0, kv_count = 0;
  RETURN_IF_ERROR(ReadPod(&tensor_count, "tensor count"));
  RETURN_IF_ERROR(ReadPod(&kv_count, "metadata count"));
  // Smallest key/value: empty key (8) + type (4) + one byte. Smallest tensor
  // info: empty name (8) + n_dims (4) + type (4) + offset (8).
  if (kv_count > remaining() / 13) {
    return Corrupt("header claims " + std::to_string(kv_count) +
                   " metadata entries, more than the file size " + std::to_string(size_) +
                   " can hold");
  }
  if (tensor_count > remaining() / 24) {
    return Corrupt("header claims " + std::to_string(tensor_count) +
                   " tensors, more than the file size " + std::to_string(size_) +
                   " can hold");
  }
  RETURN_IF_ERROR(ReadMetadata(f.get(), kv_count));
  RETURN_IF_ERROR(ReadTensorInfos(f.get(), tensor_count));
  RETURN_IF_ERROR(ResolveAlignment(f.get()));
  RETURN_IF_ERROR(PlaceTensors(f.get()));
  return f;
}

StatusOr<std::shared_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  GgufParser parser(std::move(file));
  return parser.Parse();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || !IsIntegerType(v->type)) return std::nullopt;
  if (IsSignedType(v->type)) return v->i64;
  if (v->u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(v->u64);
}

std::optional<uint64_t> GgufFile::GetUint(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || !IsIntegerType(v->type)) return std::nullopt;
  if (IsSignedType(v->type)) {
    if (v->i64 < 0) return std::nullopt;
    return static_cast<uint64_t>(v->i64);
  }
  return v->u64;
}

std::optional<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || (v->type != GgufType::kFloat32 && v->type != GgufType::kFloat64)) {
    return std::nullopt;
  }
  return v->f64;
}

std::optional<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufType::kBool) return std::nullopt;
  return v->b;
}

std::optional<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufType::kString) return std::nullopt;
  return v->str;
}

const std::vector<std::string>* GgufFile::GetStringArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufType::kArray || v->array_type != GgufType::kString) {
    return nullptr;
  }
  return &v->strs;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace pagoda
