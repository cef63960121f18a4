#include "tokenizer/normalizer.h"

#include <utility>

namespace pagoda {

void Normalizer::AddNfc() { steps_.push_back({Kind::kNfc, {}, {}}); }

void Normalizer::AddPrepend(std::string s) { steps_.push_back({Kind::kPrepend, std::move(s), {}}); }

void Normalizer::AddReplace(std::string from, std::string to) {
  steps_.push_back({Kind::kReplace, std::move(from), std::move(to)});
}

void Normalizer::AddStrip(bool left, bool right) {
  Step s{Kind::kStrip, {}, {}};
  s.left = left;
  s.right = right;
  steps_.push_back(std::move(s));
}

std::string Normalizer::Apply(std::string_view text) const {
  std::string cur(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc:
        cur = NfcNormalize(cur);
        break;
      case Kind::kPrepend:
        if (!cur.empty()) cur.insert(0, step.a);
        break;
      case Kind::kReplace: {
        if (step.a.empty()) break;
        std::string out;
        out.reserve(cur.size());
        size_t pos = 0;
        for (size_t hit; (hit = cur.find(step.a, pos)) != std::string::npos;
             pos = hit + step.a.size()) {
          out.append(cur, pos, hit - pos).append(step.b);
        }
        out.append(cur, pos, std::string::npos);
        cur = std::move(out);
        break;
      }
      case Kind::kStrip: {
        auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
        size_t b = 0, e = cur.size();
        if (step.left) while (b < e && ws(cur[b])) ++b;
        if (step.right) while (e > b && ws(cur[e - 1])) --e;
        cur = cur.substr(b, e - b);
        break;
      }
    }
  }
  return cur;
}

}  // namespace pagoda
