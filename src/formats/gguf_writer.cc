// GGUF writer: metadata and tensor infos are serialized into memory, then the
// tensor data is streamed after them, each tensor padded to the alignment.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "formats/gguf.h"

namespace pagoda {

namespace {

class ByteSink {
 public:
  template <typename T>
  void Pod(T v) {
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
  }
  void String(const std::string& s) {
    Pod<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void PadTo(uint64_t align) {
    while (bytes_.size() % align != 0) bytes_.push_back(0);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Unsigned types are taken from `u64`, signed from `i64`, as GgufValue says.
void WriteScalar(ByteSink& out, GgufType t, const GgufValue& v) {
  switch (t) {
    case GgufType::kUint8: out.Pod<uint8_t>(static_cast<uint8_t>(v.u64)); break;
    case GgufType::kInt8: out.Pod<int8_t>(static_cast<int8_t>(v.i64)); break;
    case GgufType::kUint16: out.Pod<uint16_t>(static_cast<uint16_t>(v.u64)); break;
    case GgufType::kInt16: out.Pod<int16_t>(static_cast<int16_t>(v.i64)); break;
    case GgufType::kUint32: out.Pod<uint32_t>(static_cast<uint32_t>(v.u64)); break;
    case GgufType::kInt32: out.Pod<int32_t>(static_cast<int32_t>(v.i64)); break;
    case GgufType::kUint64: out.Pod<uint64_t>(v.u64); break;
    case GgufType::kInt64: out.Pod<int64_t>(v.i64); break;
    case GgufType::kFloat32: out.Pod<float>(static_cast<float>(v.f64)); break;
    case GgufType::kFloat64: out.Pod<double>(v.f64); break;
    case GgufType::kBool: out.Pod<uint8_t>(v.b ? 1 : 0); break;
    case GgufType::kString: out.String(v.str); break;
    case GgufType::kArray: break;  // handled by WriteArray
  }
}

// Array elements of integer/bool type live in `ints` as int64 bit patterns.
void WriteIntElement(ByteSink& out, GgufType t, int64_t x) {
  GgufValue tmp;
  tmp.i64 = x;
  tmp.u64 = static_cast<uint64_t>(x);
  tmp.b = x != 0;
  WriteScalar(out, t, tmp);
}

void WriteArray(ByteSink& out, const GgufValue& v) {
  const GgufType et = v.array_type;
  out.Pod<uint32_t>(static_cast<uint32_t>(et));
  switch (et) {
    case GgufType::kString:
      out.Pod<uint64_t>(v.strs.size());
      for (const std::string& s : v.strs) out.String(s);
      break;
    case GgufType::kArray:
      out.Pod<uint64_t>(v.arrays.size());
      for (const GgufValue& a : v.arrays) WriteArray(out, a);
      break;
    case GgufType::kFloat32:
      out.Pod<uint64_t>(v.floats.size());
      for (double x : v.floats) out.Pod<float>(static_cast<float>(x));
      break;
    case GgufType::kFloat64:
      out.Pod<uint64_t>(v.floats.size());
      for (double x : v.floats) out.Pod<double>(x);
      break;
    default:
      out.Pod<uint64_t>(v.ints.size());
      for (int64_t x : v.ints) WriteIntElement(out, et, x);
      break;
  }
}

void WriteValue(ByteSink& out, const GgufValue& v) {
  out.Pod<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type == GgufType::kArray) {
    WriteArray(out, v);
  } else {
    WriteScalar(out, v.type, v);
  }
}

GgufValue Scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}

GgufValue ArrayOf(GgufType et) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.array_type = et;
  return v;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t version, uint64_t alignment)
    : version_(version), alignment_(alignment) {}

void GgufWriter::SetValue(const std::string& key, const GgufValue& v) {
  // Setting a key twice replaces its value and keeps its first position.
  for (auto& [k, old] : kv_) {
    if (k == key) {
      old = v;
      return;
    }
  }
  kv_.emplace_back(key, v);
}

void GgufWriter::SetUint32(const std::string& key, uint32_t x) {
  GgufValue v = Scalar(GgufType::kUint32);
  v.u64 = x;
  v.i64 = x;
  SetValue(key, v);
}

void GgufWriter::SetInt32(const std::string& key, int32_t x) {
  GgufValue v = Scalar(GgufType::kInt32);
  v.i64 = x;
  v.u64 = x >= 0 ? static_cast<uint64_t>(x) : 0;
  SetValue(key, v);
}

void GgufWriter::SetUint64(const std::string& key, uint64_t x) {
  GgufValue v = Scalar(GgufType::kUint64);
  v.u64 = x;
  v.i64 = static_cast<int64_t>(x);
  SetValue(key, v);
}

void GgufWriter::SetFloat32(const std::string& key, float x) {
  GgufValue v = Scalar(GgufType::kFloat32);
  v.f64 = x;
  SetValue(key, v);
}

void GgufWriter::SetBool(const std::string& key, bool x) {
  GgufValue v = Scalar(GgufType::kBool);
  v.b = x;
  v.i64 = x;
  v.u64 = x;
  SetValue(key, v);
}

void GgufWriter::SetString(const std::string& key, const std::string& x) {
  GgufValue v = Scalar(GgufType::kString);
  v.str = x;
  SetValue(key, v);
}

void GgufWriter::SetStringArray(const std::string& key, const std::vector<std::string>& x) {
  GgufValue v = ArrayOf(GgufType::kString);
  v.strs = x;
  SetValue(key, v);
}

void GgufWriter::SetFloat32Array(const std::string& key, const std::vector<float>& x) {
  GgufValue v = ArrayOf(GgufType::kFloat32);
  v.floats.assign(x.begin(), x.end());
  SetValue(key, v);
}

void GgufWriter::SetInt32Array(const std::string& key, const std::vector<int32_t>& x) {
  GgufValue v = ArrayOf(GgufType::kInt32);
  v.ints.assign(x.begin(), x.end());
  SetValue(key, v);
}

void GgufWriter::AddTensor(const std::string& name, const std::vector<uint64_t>& ne,
                           DType dtype, std::vector<uint8_t> data) {
  tensors_.push_back(PendingTensor{name, ne, dtype, std::move(data)});
}

Status GgufWriter::WriteTo(const std::string& path) const {
  auto fail = [&path](const std::string& what) { return InvalidArgument(path + ": " + what); };
  if (version_ != 2 && version_ != 3) {
    return fail("GgufWriter writes GGUF versions 2 and 3, not " + std::to_string(version_));
  }
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) {
    return fail("alignment " + std::to_string(alignment_) + " is not a power of two");
  }

  // Readers take the alignment from general.alignment, so a non-default one
  // (or one the caller set by hand) must match what we lay out here.
  std::vector<std::pair<std::string, GgufValue>> kv = kv_;
  bool has_alignment_key = false;
  for (auto& [k, v] : kv) has_alignment_key |= k == "general.alignment";
  if (alignment_ != 32 || has_alignment_key) {
    if (alignment_ > 0xffffffffu) return fail("alignment does not fit general.alignment (uint32)");
    GgufValue a = Scalar(GgufType::kUint32);
    a.u64 = alignment_;
    a.i64 = static_cast<int64_t>(alignment_);
    bool replaced = false;
    for (auto& [k, v] : kv) {
      if (k == "general.alignment") {
        v = a;
        replaced = true;
      }
    }
    if (!replaced) kv.emplace_back("general.alignment", a);
  }

  ByteSink out;
  out.Pod<uint32_t>(0x46554747u);  // "GGUF" read as little-endian uint32
  out.Pod<uint32_t>(version_);
  out.Pod<uint64_t>(tensors_.size());
  out.Pod<uint64_t>(kv.size());
  for (const auto& [k, v] : kv) {
    out.String(k);
    WriteValue(out, v);
  }

  std::set<std::string> names;
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    if (!names.insert(t.name).second) return fail("duplicate tensor name '" + t.name + "'");
    if (t.ne.size() > 4) return fail("tensor '" + t.name + "' has more than 4 dimensions");
    std::optional<size_t> bytes = RowBytes(t.dtype, t.ne.empty() ? 1 : t.ne[0]);
    if (!bytes) return fail("tensor '" + t.name + "' has a row that is not whole blocks");
    uint64_t total = *bytes;
    for (size_t d = 1; d < t.ne.size(); ++d) {
      if (__builtin_mul_overflow(total, t.ne[d], &total)) {
        return fail("tensor '" + t.name + "' size overflows");
      }
    }
    if (total != t.data.size()) {
      return fail("tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
                  " bytes of data, its shape and dtype need " + std::to_string(total));
    }
    out.String(t.name);
    out.Pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) out.Pod<uint64_t>(d);
    out.Pod<uint32_t>(static_cast<uint32_t>(GetDTypeInfo(t.dtype).ggml_type));
    out.Pod<uint64_t>(offset);
    offset += (total + alignment_ - 1) / alignment_ * alignment_;
  }
  if (!tensors_.empty()) out.PadTo(alignment_);

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return NotFound(path + ": cannot create: " + std::strerror(errno));
  bool ok = std::fwrite(out.bytes().data(), 1, out.bytes().size(), f) == out.bytes().size();
  static const uint8_t kZeros[256] = {};
  for (const PendingTensor& t : tensors_) {
    if (!ok) break;
    ok = t.data.empty() || std::fwrite(t.data.data(), 1, t.data.size(), f) == t.data.size();
    uint64_t pad = (alignment_ - t.data.size() % alignment_) % alignment_;
    while (ok && pad > 0) {
      const size_t n = pad < sizeof(kZeros) ? static_cast<size_t>(pad) : sizeof(kZeros);
      ok = std::fwrite(kZeros, 1, n, f) == n;
      pad -= n;
    }
  }
  const int close_rc = std::fclose(f);
  if (!ok || close_rc != 0) return Internal(path + ": write failed: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace pagoda
