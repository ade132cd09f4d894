#pragma once

#include <CLI/App.hpp>

#include "policy/settings.h"

namespace asmegress::cli {

// The engine's settings as flags, the same on every command that runs the
// engine (check, review, serve), so that offline checks and the server agree.
void add_policy_flags(CLI::App& command, policy::Settings& settings);

}  // namespace asmegress::cli
