// Safetensors writer. The layout follows what Hugging Face's library checks
// on load: tensors packed back to back from offset 0 with no holes, and the
// JSON header padded with spaces so the data starts 8-byte aligned.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "formats/safetensors.h"
#include "formats/safetensors_dtype.h"

namespace pagoda {

void SafetensorsWriter::Add(const std::string& name, DType dtype,
                            const std::vector<uint64_t>& shape, std::vector<uint8_t> data) {
  tensors_.push_back(Pending{name, dtype, shape, std::move(data)});
}

void SafetensorsWriter::SetMetadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

Status SafetensorsWriter::WriteTo(const std::string& path) const {
  auto fail = [&path](const std::string& what) { return InvalidArgument(path + ": " + what); };
  // ordered_json keeps insertion order, so the header lists tensors the way
  // the caller added them (the data is in that order too).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const Pending& t : tensors_) {
    if (t.name == "__metadata__") return fail("'__metadata__' is reserved, not a tensor name");
    if (!names.insert(t.name).second) return fail("duplicate tensor name '" + t.name + "'");
    std::optional<std::string_view> dtype_name = SafetensorsDTypeName(t.dtype);
    if (!dtype_name) {
      return fail("tensor '" + t.name + "' has dtype " + std::string(DTypeName(t.dtype)) +
                  ", which safetensors cannot store");
    }
    uint64_t bytes = static_cast<uint64_t>(GetDTypeInfo(t.dtype).block_bytes);
    for (uint64_t d : t.shape) {
      if (__builtin_mul_overflow(bytes, d, &bytes)) {
        return fail("tensor '" + t.name + "' size overflows");
      }
    }
    if (bytes != t.data.size()) {
      return fail("tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
                  " bytes of data, its shape and dtype need " + std::to_string(bytes));
    }
    header[t.name] = {{"dtype", std::string(*dtype_name)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() throws on names or metadata that are not valid UTF-8.
    return fail(std::string("cannot encode the header: ") + e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');
  const uint64_t header_len = json.size();

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return NotFound(path + ": cannot create: " + std::strerror(errno));
  bool ok = std::fwrite(&header_len, 1, 8, f) == 8 &&
            std::fwrite(json.data(), 1, json.size(), f) == json.size();
  for (const Pending& t : tensors_) {
    if (!ok) break;
    ok = t.data.empty() || std::fwrite(t.data.data(), 1, t.data.size(), f) == t.data.size();
  }
  const int close_rc = std::fclose(f);
  if (!ok || close_rc != 0) return Internal(path + ": write failed: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace pagoda
