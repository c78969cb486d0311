#pragma once
// Scheduled compliance reports: at each job's cron time the per-unit report is written as
// CSV and/or printable HTML into a directory (atomically: a reader never sees half a file),
// and the oldest beyond `keep` are removed. The compliance office files them as they are.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/api/posture.hpp"
#include "edusight/core/schedule.hpp"

namespace edusight::collector::api {

struct ReportJob {
  std::string name;                                  // file names start with it: <name>-<date>.csv
  Schedule schedule = Schedule::parse("0 0 * * 1");  // UTC; 00:00 Monday = 08:00 in China
  bool csv = true;
  bool html = true;
  std::string dir;        // empty: <data_dir>/reports
  std::size_t keep = 60;  // files per job and format
};

class ReportJobs {
 public:
  // `latest` gives the posture to report (the snapshot, or one built on demand).
  using PostureSource = std::function<std::shared_ptr<const Posture>()>;
  ReportJobs(std::vector<ReportJob> jobs, PostureSource latest, const Clock& clock,
             std::string institution);
  ~ReportJobs();
  ReportJobs(const ReportJobs&) = delete;
  ReportJobs& operator=(const ReportJobs&) = delete;

  void start();
  void stop();
  // Writes job `index`'s report for the posture now; the paths written (for tests).
  std::vector<std::filesystem::path> write(std::size_t index);

 private:
  void run();
  std::vector<ReportJob> jobs_;
  PostureSource latest_;
  const Clock& clock_;
  std::string institution_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edusight::collector::api
