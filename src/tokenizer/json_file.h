// ReadJsonFile: loads a JSON file for the tokenizer loaders; a malformed
// file is an InvalidArgument naming the file and the line and column where
// parsing failed. Stateless: safe from any thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pagoda {

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);
StatusOr<nlohmann::ordered_json> ReadOrderedJsonFile(const std::string& path);

}  // namespace pagoda
