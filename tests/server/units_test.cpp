// The small pieces on their own: duration flags, content types, paths, and
// the exact Prometheus exposition.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/duration.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/router.h"

namespace asmegress::server {
namespace {

using namespace std::chrono_literals;

TEST(Duration, GoSyntax) {
  EXPECT_EQ(parse_duration("10s"), std::chrono::nanoseconds(10s));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::nanoseconds(500ms));
  EXPECT_EQ(parse_duration("1m"), std::chrono::nanoseconds(1min));
  EXPECT_EQ(parse_duration("1m30s"), std::chrono::nanoseconds(90s));
  EXPECT_EQ(parse_duration("1.5h"), std::chrono::nanoseconds(90min));
  EXPECT_EQ(parse_duration("0"), std::chrono::nanoseconds(0));
  EXPECT_EQ(parse_duration("250us"), std::chrono::nanoseconds(250us));
}

TEST(Duration, RejectsWhatGoRejects) {
  for (const char* bad : {"", "10", "s", "-1s", "10x", "1.s5", "ms10", "10 s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(ContentType, JsonWithParametersAnyCase) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type(" Application/JSON ;charset=UTF-8"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("text/json"));
  EXPECT_FALSE(is_json_content_type("application/json-patch+json"));
}

TEST(RequestPath, QueryIsIgnored) {
  EXPECT_EQ(request_path("/mutate?timeout=10s"), "/mutate");
  EXPECT_EQ(request_path("/validate"), "/validate");
  EXPECT_EQ(request_path("/healthz#x"), "/healthz");
}

TEST(Metrics, ExpositionFormat) {
  Metrics metrics;
  metrics.request_started(WebhookPath::Mutate);
  metrics.request_answered(WebhookPath::Mutate, 200, 700us);
  metrics.request_ended(WebhookPath::Mutate);
  metrics.request_answered(WebhookPath::Mutate, 200, 3ms);
  metrics.request_answered(WebhookPath::Validate, 418, 20s);
  metrics.decision(WebhookPath::Validate, false, "Invalid");
  metrics.decision(WebhookPath::Validate, false, "odd \"reason\"\\\n");
  metrics.ports_allocated(5);
  metrics.set_certificate_expiry(1700000000);
  const std::string text = metrics.render();

  for (const char* line : {
           "# HELP controller_runtime_webhook_requests_total ",
           "# TYPE controller_runtime_webhook_requests_total counter\n",
           "controller_runtime_webhook_requests_total{webhook=\"/mutate\",code=\"200\"} 2\n",
           "controller_runtime_webhook_requests_total{webhook=\"/validate\",code=\"418\"} 1\n",
           "# TYPE controller_runtime_webhook_latency_seconds histogram\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/mutate\",le=\"0.0005\"} 0\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/mutate\",le=\"0.001\"} 1\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/mutate\",le=\"0.005\"} 2\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/mutate\",le=\"+Inf\"} 2\n",
           "controller_runtime_webhook_latency_seconds_sum{webhook=\"/mutate\"} 0.0037\n",
           "controller_runtime_webhook_latency_seconds_count{webhook=\"/mutate\"} 2\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/validate\",le=\"10\"} 0\n",
           "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/validate\",le=\"+Inf\"} 1\n",
           "# TYPE controller_runtime_webhook_requests_in_flight gauge\n",
           "controller_runtime_webhook_requests_in_flight{webhook=\"/mutate\"} 0\n",
           "asm_egress_webhook_decisions_total{webhook=\"/validate\",result=\"denied\",reason=\"Invalid\"} 1\n",
           "asm_egress_webhook_decisions_total{webhook=\"/validate\",result=\"denied\",reason=\"odd \\\"reason\\\"\\\\\\n\"} 1\n",
           "asm_egress_webhook_ports_allocated_total 5\n",
           "asm_egress_webhook_serving_certificate_expiry_timestamp_seconds 1700000000\n",
           "# TYPE asm_egress_webhook_tls_handshake_failures_total counter\n",
           "asm_egress_webhook_certificate_reload_failures_total 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
  }
  // Every sample line belongs to a family announced by HELP and TYPE.
  std::istringstream lines(text);
  std::string line;
  std::string family;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (line.rfind('#', 0) != 0) {
      EXPECT_EQ(line.rfind(family, 0), 0u) << line;
    }
  }
}

TEST(Logger, OneJsonObjectPerLineAndDebugOnlyWhenVerbose) {
  std::ostringstream out;
  Logger quiet(out, 0);
  quiet.debug("hidden");
  quiet.info("review", {{"uid", "u-1"},
                        {"allowed", true},
                        {"text", "a\"b\nc"},
                        {"code", -422},
                        {"ports", std::size_t{18446744073709551615U}},
                        {"latency", 0.000034},
                        {"nan", std::nan("")}});
  Logger verbose(out, 1);
  verbose.debug("shown");
  std::istringstream lines(out.str());
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["level"], "info");
  EXPECT_EQ(parsed[0]["msg"], "review");
  EXPECT_EQ(parsed[0]["uid"], "u-1");
  EXPECT_EQ(parsed[0]["text"], "a\"b\nc");
  EXPECT_EQ(parsed[0]["allowed"], true);
  EXPECT_EQ(parsed[0]["code"], -422);
  EXPECT_EQ(parsed[0]["ports"], 18446744073709551615U);
  EXPECT_EQ(parsed[0]["latency"], 0.000034);
  EXPECT_TRUE(parsed[0]["nan"].is_null());
  // RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.123Z
  const std::string ts = parsed[0]["ts"];
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  ASSERT_EQ(ts.size(), shape.size()) << ts;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (shape[i] == 'd') {
      EXPECT_TRUE(ts[i] >= '0' && ts[i] <= '9') << ts;
    } else {
      EXPECT_EQ(ts[i], shape[i]) << ts;
    }
  }
  EXPECT_EQ(parsed[1]["level"], "debug");
}

}  // namespace
}  // namespace asmegress::server
