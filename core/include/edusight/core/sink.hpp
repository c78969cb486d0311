#pragma once
// Where findings go: one interface, small implementations (JSONL, a table for people; the
// collector stream comes later behind the same interface).
#include <cstdio>
#include <memory>
#include <vector>

#include "edusight/core/finding.hpp"

namespace edusight {

class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual void write(const Finding& f) = 0;
  // Called once when the scan is over.
  virtual void close() {}
};

// One JSON object a line, flushed per finding so a pipe sees results as they come.
class JsonlSink final : public FindingSink {
 public:
  explicit JsonlSink(std::FILE* out) : out_(out) {}
  void write(const Finding& f) override;

 private:
  std::FILE* out_;
};

// Collects and prints a sorted table at close: most severe first.
class TableSink final : public FindingSink {
 public:
  explicit TableSink(std::FILE* out) : out_(out) {}
  void write(const Finding& f) override { rows_.push_back(f); }
  void close() override;

 private:
  std::FILE* out_;
  std::vector<Finding> rows_;
};

}  // namespace edusight
