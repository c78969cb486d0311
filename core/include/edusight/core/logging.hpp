#pragma once
// How both programs log: spdlog to a standard stream, for a terminal and for journald.
// Under systemd (JOURNAL_STREAM names the stream we write to) every line starts with the
// sd-daemon priority prefix "<3>" .. "<7>", so `journalctl -p warning` filters by level, and
// carries no timestamp (the journal keeps its own); otherwise lines follow `pattern`
// (spdlog's syntax), coloured on a terminal.
#include <spdlog/common.h>

#include <optional>
#include <string>
#include <string_view>

namespace edusight {

enum class LogStream { out, err };

// Replaces the default logger; call once, first thing in main().
void setup_logging(LogStream stream, const std::string& pattern);
// "trace", "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);
// True when the file descriptor is the stream systemd connected to the journal.
bool connected_to_journal(int fd);
// The sd-daemon priority for a level: error 3, warn 4, info 6, debug and trace 7.
int journal_priority(spdlog::level::level_enum level);

}  // namespace edusight
