#include "edusight/core/sink.hpp"

#include <algorithm>
#include <string>

namespace edusight {

void JsonlSink::write(const Finding& f) {
  const auto line = to_jsonl(f);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void TableSink::close() {
  std::stable_sort(rows_.begin(), rows_.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.subject < b.subject;
  });
  std::size_t w_kind = 4, w_subject = 7;
  for (const auto& f : rows_) {
    w_kind = std::max(w_kind, f.kind.size());
    w_subject = std::max(w_subject, std::min<std::size_t>(f.subject.size(), 60));
  }
  std::fprintf(out_, "%-8s  %-*s  %-*s  %s\n", "SEVERITY", static_cast<int>(w_kind), "KIND",
               static_cast<int>(w_subject), "SUBJECT", "TITLE");
  for (const auto& f : rows_) {
    const std::string sev(to_string(f.severity));
    std::fprintf(out_, "%-8s  %-*s  %-*s  %s\n", sev.c_str(), static_cast<int>(w_kind),
                 f.kind.c_str(), static_cast<int>(w_subject), f.subject.c_str(), f.title.c_str());
  }
  std::fprintf(out_, "%zu finding%s\n", rows_.size(), rows_.size() == 1 ? "" : "s");
  std::fflush(out_);
}

}  // namespace edusight
