#pragma once
// `edusight-agent enroll --collector HOST[:PORT] --token TOKEN (--pin SHA256 | --ca-file FILE)`:
// gets this agent's identity and key from the collector and writes the identity file
// (docs/enrollment.md).
namespace CLI {
class App;
}

namespace edusight::agent {

// Registers the subcommand; it runs from its callback and ends the process with its status
// (0 enrolled, 2 usage, 1 anything else, with a message saying what and why).
void add_enroll_command(CLI::App& app);

}  // namespace edusight::agent
