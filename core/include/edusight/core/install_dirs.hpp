#pragma once
// Where installed data files (share/edusight/<name>: the shipped rules, the web dashboard) are
// found. A package installs under /usr whatever prefix the build was configured with, so the
// running executable's own place (<prefix>/bin/...) is asked first.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace edusight {

// <exe's directory>/../share/edusight/<name>, when that directory exists.
std::optional<std::filesystem::path> data_dir_beside(const std::filesystem::path& executable,
                                                     std::string_view name);

// data_dir_beside() for the running executable (/proc/self/exe); nullopt when there is none.
std::optional<std::filesystem::path> installed_data_dir(std::string_view name);

// The first of: installed_data_dir(name), `configured` (the build's install prefix) when it
// exists, else `source_tree` (a build tree's fallback, returned even when missing so that
// errors name it).
std::string find_data_dir(std::string_view name, const std::string& configured,
                          const std::string& source_tree);

}  // namespace edusight
