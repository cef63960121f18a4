// Safetensors reader: 8-byte little-endian header length, a JSON header, then
// the tensor bytes. The header is untrusted: its length, nesting, every
// dtype, shape and offset pair are checked before any tensor is exposed.

#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include "formats/safetensors_dtype.h"

namespace pagoda {

namespace {

// Hugging Face's reader refuses headers over 100 MB; so do we, which also
// bounds the JSON we hand to the parser.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three deep ({name: {shape: [..]}}); anything much
// deeper is corruption, and refusing it keeps JSON handling shallow.
constexpr int kMaxJsonDepth = 16;

// Thrown from the JSON parser callback to stop parsing with a message.
struct HeaderReject {
  std::string message;
};

}  // namespace

std::optional<DType> SafetensorsDTypeFromName(std::string_view name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  if (name == "F64") return DType::kF64;
  if (name == "I8") return DType::kI8;
  if (name == "I16") return DType::kI16;
  if (name == "I32") return DType::kI32;
  if (name == "I64") return DType::kI64;
  return std::nullopt;
}

std::optional<std::string_view> SafetensorsDTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kF64: return "F64";
    case DType::kI8: return "I8";
    case DType::kI16: return "I16";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
    default: return std::nullopt;
  }
}

uint64_t SafetensorInfo::num_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // validated against overflow at Open
  return n;
}

// Lives in namespace pagoda because SafetensorsFile names it as a friend.
class SafetensorsParser {
 public:
  explicit SafetensorsParser(std::shared_ptr<MappedFile> file) : file_(std::move(file)) {}
  StatusOr<std::shared_ptr<SafetensorsFile>> Parse();

 private:
  Status Fail(StatusCode code, const std::string& what) const {
    return Status(code, file_->path() + ": " + what);
  }
  Status Corrupt(const std::string& what) const { return Fail(StatusCode::kDataLoss, what); }
  Status ParseTensor(const std::string& name, const nlohmann::json& entry, SafetensorInfo* t,
                     uint64_t* begin, uint64_t* end) const;

  std::shared_ptr<MappedFile> file_;
};

Status SafetensorsParser::ParseTensor(const std::string& name, const nlohmann::json& entry,
                                      SafetensorInfo* t, uint64_t* begin,
                                      uint64_t* end) const {
  const std::string what = "tensor '" + name + "'";
  if (!entry.is_object()) return Corrupt(what + ": header entry is not a JSON object");
  auto dt = entry.find("dtype");
  auto sh = entry.find("shape");
  auto off = entry.find("data_offsets");
  if (dt == entry.end() || !dt->is_string()) return Corrupt(what + " has no string \"dtype\"");
  if (sh == entry.end() || !sh->is_array()) return Corrupt(what + " has no array \"shape\"");
  if (off == entry.end() || !off->is_array() || off->size() != 2) {
    return Corrupt(what + " has no [begin, end] \"data_offsets\"");
  }
  const std::string& dtype_name = dt->get_ref<const std::string&>();
  std::optional<DType> dtype = SafetensorsDTypeFromName(dtype_name);
  if (!dtype) {
    return Fail(StatusCode::kUnimplemented,
                what + " has dtype '" + dtype_name + "', which pagoda does not support");
  }
  t->name = name;
  t->dtype = *dtype;
  uint64_t elements = 1;
  for (const nlohmann::json& d : *sh) {
    if (!d.is_number_unsigned()) {
      return Corrupt(what + " has a shape entry that is not a non-negative integer");
    }
    const uint64_t v = d.get<uint64_t>();
    if (__builtin_mul_overflow(elements, v, &elements)) {
      return Corrupt(what + " has a shape whose element count overflows");
    }
    t->shape.push_back(v);
  }
  uint64_t expected = 0;
  if (__builtin_mul_overflow(elements, static_cast<uint64_t>(GetDTypeInfo(*dtype).block_bytes),
                             &expected)) {
    return Corrupt(what + " has a shape whose byte size overflows");
  }
  for (const nlohmann::json& o : *off) {
    if (!o.is_number_unsigned()) {
      return Corrupt(what + " has data_offsets that are not non-negative integers");
    }
  }
  *begin = (*off)[0].get<uint64_t>();
  *end = (*off)[1].get<uint64_t>();
  if (*end < *begin) {
    return Corrupt(what + " has data_offsets [" + std::to_string(*begin) + ", " +
                   std::to_string(*end) + "] that end before they begin");
  }
  if (*end - *begin != expected) {
    return Corrupt(what + " has " + std::to_string(*end - *begin) + " bytes in data_offsets but " +
                   dtype_name + " shape needs " + std::to_string(expected));
  }
  t->nbytes = static_cast<size_t>(expected);
  return Status::Ok();
}

StatusOr<std::shared_ptr<SafetensorsFile>> SafetensorsParser::Parse() {
  const uint8_t* data = file_->data();
  const uint64_t size = file_->size();
  if (size < 8) {
    return Corrupt("file is truncated: " + std::to_string(size) +
                   " bytes, too short for the 8-byte safetensors header length");
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);  // little-endian host, as the format
  if (header_len > size - 8) {
    return Corrupt("header length " + std::to_string(header_len) +
                   " runs past the end of the file (file size " + std::to_string(size) + ")");
  }
  if (header_len > kMaxHeaderBytes) {
    return Corrupt("header length " + std::to_string(header_len) + " exceeds the " +
                   std::to_string(kMaxHeaderBytes) + "-byte limit");
  }
  const char* json_begin = reinterpret_cast<const char*>(data + 8);
  const char* json_end = json_begin + header_len;
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;

  // The callback bounds nesting and catches duplicate tensor names, which a
  // plain parse would silently collapse into one.
  std::set<std::string> top_keys;
  auto callback = [&top_keys](int depth, nlohmann::json::parse_event_t event,
                              nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if ((event == E::object_start || event == E::array_start) && depth >= kMaxJsonDepth) {
      throw HeaderReject{"JSON header nests deeper than " + std::to_string(kMaxJsonDepth)};
    }
    if (event == E::key && depth == 1 && parsed.is_string() &&
        !top_keys.insert(parsed.get<std::string>()).second) {
      throw HeaderReject{"duplicate entry '" + parsed.get<std::string>() + "' in the header"};
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(json_begin, json_end, callback);
  } catch (const HeaderReject& r) {
    return Corrupt(r.message);
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) return Corrupt("header is not a JSON object");

  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->file_ = file_;
  struct Placed {
    SafetensorInfo info;
    uint64_t begin, end;
  };
  std::vector<Placed> placed;
  placed.reserve(header.size());
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return Corrupt("__metadata__ is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) return Corrupt("__metadata__ value '" + mk + "' is not a string");
        f->metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    Placed p;
    RETURN_IF_ERROR(ParseTensor(key, value, &p.info, &p.begin, &p.end));
    placed.push_back(std::move(p));
  }

  // File order, which is the order the writer added them in.
  std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t prev_end = 0;
  std::string prev_name;
  for (Placed& p : placed) {
    if (p.end > data_size) {
      return Corrupt("tensor '" + p.info.name + "' extends past the end of the file (data_offsets [" +
                     std::to_string(p.begin) + ", " + std::to_string(p.end) +
                     "], data section of " + std::to_string(data_size) + " bytes at offset " +
                     std::to_string(data_start) + ")");
    }
    if (p.begin < prev_end) {
      return Corrupt("tensor '" + p.info.name + "' overlaps tensor '" + prev_name + "'");
    }
    prev_end = p.end;
    prev_name = p.info.name;
    p.info.data = data + data_start + p.begin;
    f->index_.emplace(p.info.name, f->tensors_.size());
    f->tensors_.push_back(std::move(p.info));
  }
  return f;
}

StatusOr<std::shared_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  SafetensorsParser parser(std::move(file));
  return parser.Parse();
}

const SafetensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace pagoda
