#include "guided/json_schema_merge.h"

#include <algorithm>
#include <set>
#include <vector>

namespace pagoda {

bool IsAnnotationKeyword(const std::string& key) {
  static const std::set<std::string> kAnnotations = {
      "title",    "description", "default",   "examples",         "$schema",         "$id",
      "$comment", "deprecated",  "readOnly",  "writeOnly",        "contentMediaType", "contentEncoding",
      "$defs",    "definitions", "$anchor"};
  return kAnnotations.count(key) > 0;
}

namespace {

std::vector<std::string> TypeList(const SchemaJson& t) {
  std::vector<std::string> out;
  if (t.is_string()) out.push_back(t.get<std::string>());
  if (t.is_array()) {
    for (const auto& x : t) {
      if (x.is_string()) out.push_back(x.get<std::string>());
    }
  }
  return out;
}

bool HasType(const std::vector<std::string>& types, const std::string& t) {
  return std::find(types.begin(), types.end(), t) != types.end();
}

// Properties that `side` declares, for the additionalProperties check.
std::set<std::string> Declared(const SchemaJson& side) {
  std::set<std::string> out;
  if (side.contains("properties") && side["properties"].is_object()) {
    for (const auto& [k, v] : side["properties"].items()) out.insert(k);
  }
  return out;
}

// If `closed` restricts undeclared properties, `other` may only declare
// what `closed` declares; else merging would admit forbidden properties.
Status CheckClosed(const SchemaJson& closed, const SchemaJson& other, const std::string& path) {
  if (!closed.contains("additionalProperties") || closed["additionalProperties"] == SchemaJson(true)) {
    return Status::Ok();
  }
  const auto mine = Declared(closed);
  for (const auto& name : Declared(other)) {
    if (!mine.count(name)) {
      return InvalidArgument("allOf at " + path + ": property '" + name +
                             "' is ruled out by another branch's additionalProperties; cannot merge");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<SchemaJson> MergeSchemas(const SchemaJson& a, const SchemaJson& b, const std::string& path) {
  if (a.is_boolean()) return a.get<bool>() ? b : SchemaJson(false);
  if (b.is_boolean()) return b.get<bool>() ? a : SchemaJson(false);
  if (!a.is_object() || !b.is_object()) return InvalidArgument("allOf at " + path + ": a schema must be an object or a boolean");
  RETURN_IF_ERROR(CheckClosed(a, b, path));
  RETURN_IF_ERROR(CheckClosed(b, a, path));
  SchemaJson out = a;
  for (const auto& [key, bv] : b.items()) {
    if (IsAnnotationKeyword(key)) continue;
    if (!out.contains(key)) {
      out[key] = bv;
      continue;
    }
    SchemaJson& av = out[key];
    if (av == bv) continue;
    auto cannot = [&](const std::string& why) {
      return InvalidArgument("allOf at " + path + ": cannot merge keyword '" + key + "'" + why);
    };
    if (key == "type") {
      const auto ta = TypeList(av), tb = TypeList(bv);
      std::vector<std::string> both;
      for (const auto& t : ta) {
        if (HasType(tb, t) || (t == "integer" && HasType(tb, "number"))) both.push_back(t);
        else if (t == "number" && HasType(tb, "integer")) both.push_back("integer");
      }
      if (both.empty()) return SchemaJson(false);
      av = SchemaJson(both);
    } else if (key == "properties") {
      if (!av.is_object() || !bv.is_object()) return cannot(" (not an object)");
      for (const auto& [name, ps] : bv.items()) {
        if (av.contains(name)) {
          av[name] = SchemaJson{{"allOf", SchemaJson::array({av[name], ps})}};
        } else {
          av[name] = ps;
        }
      }
    } else if (key == "required") {
      if (!av.is_array() || !bv.is_array()) return cannot(" (not an array)");
      for (const auto& r : bv) {
        if (std::find(av.begin(), av.end(), r) == av.end()) av.push_back(r);
      }
    } else if (key == "additionalProperties") {
      if (av == SchemaJson(true)) {
        av = bv;
      } else if (bv != SchemaJson(true)) {
        return cannot(" (two different restrictions)");
      }
    } else if (key == "minLength" || key == "minItems" || key == "minimum" ||
               (key == "exclusiveMinimum" && av.is_number() && bv.is_number())) {
      if (!av.is_number() || !bv.is_number()) return cannot(" (not a number)");
      if (bv.get<double>() > av.get<double>()) av = bv;
    } else if (key == "maxLength" || key == "maxItems" || key == "maximum" ||
               (key == "exclusiveMaximum" && av.is_number() && bv.is_number())) {
      if (!av.is_number() || !bv.is_number()) return cannot(" (not a number)");
      if (bv.get<double>() < av.get<double>()) av = bv;
    } else if (key == "enum") {
      if (!av.is_array() || !bv.is_array()) return cannot(" (not an array)");
      SchemaJson both = SchemaJson::array();
      for (const auto& v : av) {
        if (std::find(bv.begin(), bv.end(), v) != bv.end()) both.push_back(v);
      }
      if (both.empty()) return SchemaJson(false);
      av = both;
    } else if (key == "const") {
      return SchemaJson(false);  // two different constants
    } else if (key == "items" && !av.is_array() && !bv.is_array()) {
      av = SchemaJson{{"allOf", SchemaJson::array({av, bv})}};
    } else if (key == "nullable") {
      av = av.is_boolean() && bv.is_boolean() && av.get<bool>() && bv.get<bool>();
    } else {
      return cannot(" (both branches constrain it differently)");
    }
  }
  return out;
}

}  // namespace pagoda
