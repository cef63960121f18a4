// jinja::Template: a Jinja2 template parsed once and rendered many times,
// with the environment Hugging Face uses for chat templates (trim_blocks,
// lstrip_blocks, loop controls, the immutable sandbox, raise_exception,
// strftime_now, tojson with ensure_ascii=False). The supported language is
// the subset chat templates use: see parser.h and builtins.h.
// Every failure (syntax, an unknown filter, a Python-level type error,
// raise_exception) is a Status naming the template and its line; a
// template can never crash the process or run without bound.
// Immutable after Parse: Render is safe from any thread.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/interpreter.h"

namespace pagoda::jinja {

struct TemplateOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

struct RenderOptions {
  std::time_t now = 0;  // what strftime_now() formats; 0: the current time
  RenderLimits limits;
};

class Template {
 public:
  // `name` prefixes error messages ("chat template", a file name...).
  static StatusOr<std::shared_ptr<const Template>> Parse(std::string_view source, std::string name,
                                                         const TemplateOptions& options = {});

  // `context` is a JSON object: its members become the template's variables
  // (objects keep their key order, as Python dicts do).
  StatusOr<std::string> Render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

  const std::string& name() const { return name_; }

 private:
  Template() = default;
  std::string name_;
  Body body_;
};

}  // namespace pagoda::jinja
