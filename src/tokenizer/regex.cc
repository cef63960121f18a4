#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

std::string PcreError(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

}  // namespace

StatusOr<std::unique_ptr<Regex>> Regex::Compile(const std::string& pattern) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err,
                                   &err_offset, nullptr);
  if (code == nullptr) {
    return InvalidArgument("pre-tokenizer regex '" + pattern + "' does not compile at offset " +
                           std::to_string(err_offset) + ": " + PcreError(err));
  }
  // JIT makes splitting several times faster; without it PCRE2 interprets.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Regex> re(new Regex());
  re->pattern_ = pattern;
  re->code_ = code;
  return re;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::FindAll(std::string_view subject,
                    std::vector<std::pair<size_t, size_t>>* matches) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  uint32_t options = 0;
  size_t pos = 0;
  while (pos < subject.size()) {
    int rc = pcre2_match(code, s, subject.size(), pos, options, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && options == 0) {
      // A very long whitespace run can exhaust JIT's small stack; the
      // interpreter keeps its backtracking state on the heap instead.
      options = PCRE2_NO_JIT;
      continue;
    }
    if (rc < 0) break;  // no further match (or a resource limit: the rest is one gap)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) {
      matches->emplace_back(b, e);
      pos = e;
    } else {
      pos = b + Utf8CharLenAt(subject, b);  // skip an empty match
    }
  }
  pcre2_match_data_free(md);
}

std::string Regex::Escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace pagoda
