#pragma once

#include <CLI/App.hpp>

#include "policy/settings.h"

namespace asmegress::cli {

// Each adds its subcommand to the application. When the subcommand runs, its
// callback stores the process exit status in `exit_code`.
void add_check_command(CLI::App& app, policy::Settings& settings, int& exit_code);
void add_review_command(CLI::App& app, policy::Settings& settings, int& exit_code);
void add_serve_command(CLI::App& app, policy::Settings& settings, int& exit_code);

}  // namespace asmegress::cli
