// Wires the commands together; the work is in the libraries.
#include <chrono>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Admission webhook for ASMEgressTrafficPolicy (istio.alibabacloud.com/v1beta1)",
               "asm-egress-webhook"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ASM_EGRESS_VERSION_STRING);

  asmegress::policy::Settings settings;
  int exit_code = 0;
  asmegress::cli::add_check_command(app, settings, exit_code);
  asmegress::cli::add_review_command(app, settings, exit_code);
  asmegress::cli::add_serve_command(app, settings, exit_code);
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "asm-egress-webhook " << ASM_EGRESS_VERSION_STRING << "\n";
  });
  // The runtime image has no shell and so no sleep(1); a preStop hook runs this
  // to hold the pod while its endpoint leaves the Service.
  double sleep_seconds = 0;
  auto* sleep = app.add_subcommand("sleep", "Sleep for SECONDS (for preStop hooks)");
  sleep->add_option("SECONDS", sleep_seconds, "How long")->required()->check(CLI::Range(0.0, 3600.0));
  sleep->callback([&sleep_seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(sleep_seconds));
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // Usage errors are "input can't be read" for scripts: exit 2, like check's.
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
