#include "collector/api/report_jobs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace edusight::collector::api {

namespace fs = std::filesystem;

namespace {

// Write to a temporary name and rename: the file appears whole or not at all.
bool write_atomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

// Keeps the newest `keep` files of this job and extension (names sort by date).
void prune(const fs::path& dir, const std::string& prefix, const std::string& ext,
           std::size_t keep) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ext) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (std::size_t i = 0; i + keep < files.size(); ++i) fs::remove(files[i], ec);
}

}  // namespace

ReportJobs::ReportJobs(std::vector<ReportJob> jobs, PostureSource latest, const Clock& clock,
                       std::string institution)
    : jobs_(std::move(jobs)),
      latest_(std::move(latest)),
      clock_(clock),
      institution_(std::move(institution)) {}

ReportJobs::~ReportJobs() {
  stop();
}

void ReportJobs::start() {
  if (!jobs_.empty() && !thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void ReportJobs::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<fs::path> ReportJobs::write(std::size_t index) {
  const ReportJob& job = jobs_.at(index);
  std::vector<fs::path> written;
  const auto posture = latest_();
  if (!posture) {
    spdlog::error("reports: {}: no posture to report", job.name);
    return written;
  }
  std::error_code ec;
  fs::create_directories(job.dir, ec);
  // A timestamp in the name: two runs on one day (an hourly job) keep both.
  std::string stamp = campus_date(clock_.now());
  const auto secs = std::chrono::floor<std::chrono::seconds>(clock_.now() + std::chrono::hours(8));
  const std::chrono::hh_mm_ss hms(secs - std::chrono::floor<std::chrono::days>(secs));
  char hm[16];
  std::snprintf(hm, sizeof hm, "-%02d%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()));
  stamp += hm;
  const std::string prefix = job.name + "-";
  const auto emit = [&](const std::string& ext, const std::string& content) {
    const fs::path path = fs::path(job.dir) / (prefix + stamp + ext);
    if (write_atomically(path, content)) {
      written.push_back(path);
      prune(job.dir, prefix, ext, job.keep);
      spdlog::info("reports: {} written", path.string());
    } else {
      spdlog::error("reports: cannot write {}", path.string());
    }
  };
  if (job.csv) emit(".csv", units_csv(*posture));
  if (job.html) emit(".html", compliance_html(*posture, institution_));
  return written;
}

void ReportJobs::run() {
  std::vector<Clock::time_point> due;
  for (const auto& j : jobs_) due.push_back(j.schedule.next_after(clock_.now()));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto next = *std::min_element(due.begin(), due.end());
    // Wake at least every minute: the wall clock may jump (NTP), and stop() must be prompt.
    const auto wait =
        std::min<std::chrono::system_clock::duration>(next - clock_.now(), std::chrono::minutes(1));
    if (wait > std::chrono::system_clock::duration::zero()) {
      wake_.wait_for(lock, wait, [this] { return stopping_; });
      continue;
    }
    lock.unlock();
    const auto now = clock_.now();
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
      if (due[i] <= now) {
        write(i);
        due[i] = jobs_[i].schedule.next_after(now);
      }
    }
    lock.lock();
  }
}

}  // namespace edusight::collector::api
