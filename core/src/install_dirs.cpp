#include "edusight/core/install_dirs.hpp"

#include <system_error>

namespace edusight {

std::optional<std::filesystem::path> data_dir_beside(const std::filesystem::path& executable,
                                                     std::string_view name) {
  if (executable.empty() || !executable.has_parent_path()) return std::nullopt;
  const auto prefix = executable.parent_path().parent_path();
  if (prefix.empty()) return std::nullopt;
  auto dir = prefix / "share" / "edusight" / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

std::optional<std::filesystem::path> installed_data_dir(std::string_view name) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return data_dir_beside(exe, name);
}

std::string find_data_dir(std::string_view name, const std::string& configured,
                          const std::string& source_tree) {
  if (auto dir = installed_data_dir(name)) return dir->string();
  std::error_code ec;
  if (!configured.empty() && std::filesystem::is_directory(configured, ec)) return configured;
  return source_tree;
}

}  // namespace edusight
