// The fake API server as a program, for tests that run the webhook as a
// process or in a container (tests/image/run.sh): it serves on 127.0.0.1,
// holds the two webhook configurations the chart renders in self mode, grants
// the webhook's token exactly the chart's RBAC, writes a kubeconfig for the
// webhook, and ends on SIGTERM or after --run-for.
//
//   fake_api_server --secret NAMESPACE/NAME --webhook-configuration NAME
//                   --kubeconfig-out FILE [--port N] [--run-for SECONDS]
//                   [--token T] [--admin-token A]
//
// Prints "port N" once listening. Requests with the admin token skip RBAC:
// the calling test reads and writes objects with it (curl, jq).
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/kube/fake_api_server.h"

using asmegress::kube::testing::FakeApiServer;

namespace {

volatile std::sig_atomic_t stop_signal = 0;
void on_signal(int) { stop_signal = 1; }

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "fake_api_server: " << why
            << "\nusage: fake_api_server --secret NAMESPACE/NAME --webhook-configuration NAME "
               "--kubeconfig-out FILE [--port N] [--run-for SECONDS] [--token T] "
               "[--admin-token A]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  FakeApiServer::Options options;
  std::string secret;
  std::string configuration;
  std::string kubeconfig_out;
  long run_for = 900;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value of " + flag);
    const std::string value = argv[++i];
    if (flag == "--secret") {
      secret = value;
    } else if (flag == "--webhook-configuration") {
      configuration = value;
    } else if (flag == "--kubeconfig-out") {
      kubeconfig_out = value;
    } else if (flag == "--port") {
      options.port = static_cast<std::uint16_t>(std::stoul(value));
    } else if (flag == "--run-for") {
      run_for = std::stol(value);
    } else if (flag == "--token") {
      options.token = value;
    } else if (flag == "--admin-token") {
      options.admin_token = value;
    } else {
      usage("unknown flag " + flag);
    }
  }
  const std::size_t slash = secret.find('/');
  if (slash == std::string::npos || configuration.empty() || kubeconfig_out.empty()) {
    usage("--secret NAMESPACE/NAME, --webhook-configuration and --kubeconfig-out are required");
  }
  const std::string secret_namespace = secret.substr(0, slash);
  const std::string secret_name = secret.substr(slash + 1);

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  FakeApiServer api(options);
  api.put(FakeApiServer::mutating_path(configuration),
          FakeApiServer::webhook_configuration("MutatingWebhookConfiguration", configuration, 1));
  api.put(FakeApiServer::validating_path(configuration),
          FakeApiServer::webhook_configuration("ValidatingWebhookConfiguration", configuration, 1));
  api.set_rules(asmegress::kube::testing::rules_for(secret_namespace, secret_name, configuration));
  {
    std::ofstream out(kubeconfig_out);
    out << api.kubeconfig();
    if (!out) usage("cannot write " + kubeconfig_out);
  }
  std::cout << "port " << api.port() << std::endl;
  for (long waited = 0; stop_signal == 0 && waited < run_for * 10; ++waited) {
    ::usleep(100 * 1000);
  }
  api.stop();
  std::size_t forbidden = 0;
  for (const auto& request : api.requests()) forbidden += request.status == 403 ? 1 : 0;
  std::cerr << "fake_api_server: " << api.requests().size() << " requests, " << forbidden
            << " forbidden\n";
  return 0;
}
