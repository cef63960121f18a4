#include "tokenizer/jinja/template.h"

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace pagoda::jinja {
namespace {

Status ToStatus(const std::string& name, const TemplateError& e) {
  if (e.raised) {  // raise_exception(): the template author's own words
    return InvalidArgument(name + (e.line() > 0 ? ":" + std::to_string(e.line()) : "") + ": " + e.message());
  }
  return InvalidArgument(name + ":" + std::to_string(e.line()) + ": " + e.message());
}

}  // namespace

StatusOr<std::shared_ptr<const Template>> Template::Parse(std::string_view source, std::string name,
                                                          const TemplateOptions& options) {
  std::shared_ptr<Template> t(new Template());
  t->name_ = std::move(name);
  try {
    LexOptions lo{.trim_blocks = options.trim_blocks,
                  .lstrip_blocks = options.lstrip_blocks,
                  .keep_trailing_newline = options.keep_trailing_newline};
    t->body_ = jinja::Parse(Lex(source, lo));
  } catch (const TemplateError& e) {
    return ToStatus(t->name_, e);
  } catch (const std::exception& e) {
    return Internal(t->name_ + ": " + e.what());
  }
  return std::shared_ptr<const Template>(std::move(t));
}

StatusOr<std::string> Template::Render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  if (!context.is_object()) return InvalidArgument(name_ + ": the render context must be a JSON object");
  try {
    Interpreter in(options.limits, options.now != 0 ? options.now : std::time(nullptr));
    for (auto it = context.begin(); it != context.end(); ++it) in.SetGlobal(it.key(), Value::FromJson(it.value()));
    return in.Render(body_);
  } catch (const TemplateError& e) {
    return ToStatus(name_, e);
  } catch (const std::exception& e) {
    return Internal(name_ + ": " + e.what());
  }
}

}  // namespace pagoda::jinja
