// HfCheckpoint: a Hugging Face model folder (config.json, optional
// generation_config.json, and one safetensors file or an index of shards).

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "formats/safetensors.h"

namespace pagoda {

namespace {

// Config files are small; anything past this is not a config file.
constexpr std::streamoff kMaxJsonFileBytes = 64 << 20;

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return Internal(path + ": cannot read");
  if (size > kMaxJsonFileBytes) {
    return InvalidArgument(path + ": " + std::to_string(size) + " bytes is too large for a JSON file");
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), size)) return Internal(path + ": cannot read");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + ": not valid JSON: " + e.what());
  }
}

// Shard names come from the index file: keep them inside the model folder.
bool IsSafeRelativePath(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.find('\0') != std::string::npos) return false;
  std::stringstream parts(p);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<HfCheckpoint>> HfCheckpoint::Open(const std::string& dir) {
  std::shared_ptr<HfCheckpoint> ck(new HfCheckpoint());
  ck->dir_ = dir;
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";

  const std::string config_path = base + "config.json";
  if (!FileExists(config_path)) {
    return NotFound(config_path + ": not found (a Hugging Face model folder needs config.json)");
  }
  ASSIGN_OR_RETURN(ck->config_, ReadJsonFile(config_path));
  if (!ck->config_.is_object()) return InvalidArgument(config_path + ": not a JSON object");

  const std::string gen_path = base + "generation_config.json";
  if (FileExists(gen_path)) {
    ASSIGN_OR_RETURN(ck->generation_config_, ReadJsonFile(gen_path));
    if (!ck->generation_config_.is_object()) {
      return InvalidArgument(gen_path + ": not a JSON object");
    }
  }

  // Shard file name -> the tensor names the index promises it holds.
  std::vector<std::pair<std::string, std::vector<std::string>>> shards;
  const std::string index_path = base + "model.safetensors.index.json";
  const std::string single_path = base + "model.safetensors";
  if (FileExists(index_path)) {
    ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonFile(index_path));
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      return InvalidArgument(index_path + ": has no \"weight_map\" object");
    }
    std::map<std::string, size_t> shard_slot;
    for (const auto& [name, file] : index["weight_map"].items()) {
      if (!file.is_string()) {
        return InvalidArgument(index_path + ": weight_map entry '" + name + "' is not a string");
      }
      const std::string shard = file.get<std::string>();
      if (!IsSafeRelativePath(shard)) {
        return InvalidArgument(index_path + ": shard '" + shard + "' (for tensor '" + name +
                               "') is not a relative path inside the model folder");
      }
      auto [it, added] = shard_slot.emplace(shard, shards.size());
      if (added) shards.emplace_back(shard, std::vector<std::string>{});
      shards[it->second].second.push_back(name);
    }
    if (shards.empty()) return InvalidArgument(index_path + ": weight_map is empty");
  } else if (FileExists(single_path)) {
    shards.emplace_back("model.safetensors", std::vector<std::string>{});
  } else {
    return NotFound(dir + ": no model.safetensors or model.safetensors.index.json");
  }

  for (const auto& [shard, expected] : shards) {
    ASSIGN_OR_RETURN(std::shared_ptr<SafetensorsFile> file, SafetensorsFile::Open(base + shard));
    for (const SafetensorInfo& t : file->tensors()) {
      auto [it, added] = ck->tensors_.emplace(t.name, &t);
      if (!added) {
        return InvalidArgument(base + shard + ": tensor '" + t.name +
                               "' is also in another shard of " + dir);
      }
    }
    for (const std::string& name : expected) {
      if (file->Find(name) == nullptr) {
        return InvalidArgument(index_path + ": tensor '" + name + "' is mapped to '" + shard +
                               "', which does not contain it");
      }
    }
    ck->shards_.push_back(std::move(file));
  }
  return ck;
}

std::vector<const MappedFile*> HfCheckpoint::mappings() const {
  std::vector<const MappedFile*> out;
  for (const auto& shard : shards_) out.push_back(shard->mapping().get());
  return out;
}

const SafetensorInfo* HfCheckpoint::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

}  // namespace pagoda
