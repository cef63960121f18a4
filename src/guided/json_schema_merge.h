// MergeSchemas: the schema a value must satisfy to satisfy both `a` and `b`
// (internal to the guided module; used for allOf, for siblings of $ref and
// for keywords next to anyOf/oneOf). Returns `false` when the two cannot
// both hold (disjoint types, different consts) and an error naming the
// keyword when the combination is not expressible as one schema here.
// Neither input may hold a $ref at its top level (resolve it first).
// Thread-safety: a pure function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pagoda {

using SchemaJson = nlohmann::ordered_json;

StatusOr<SchemaJson> MergeSchemas(const SchemaJson& a, const SchemaJson& b, const std::string& path);

// Keywords that never constrain a value.
bool IsAnnotationKeyword(const std::string& key);

}  // namespace pagoda
