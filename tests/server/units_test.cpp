// The small pieces on their own: duration flags, content types, paths, and
// the exact Prometheus exposition.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/duration.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/router.h"
#include "tests/server/exposition.h"

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
           "# TYPE controller_runtime_webhook_latency_seconds histogram\n",
           "# TYPE controller_runtime_webhook_requests_in_flight gauge\n",
           "# TYPE asm_egress_webhook_decisions_total counter\n",
           "# TYPE asm_egress_webhook_serving_certificate_expiry_timestamp_seconds gauge\n",
           "# TYPE asm_egress_webhook_tls_handshake_failures_total counter\n",
           // A label value's quote, backslash and newline are escaped.
           "reason=\"odd \\\"reason\\\"\\\\\\n\"",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
  }
  using Labels = std::map<std::string, std::string>;
  const std::string latency = "controller_runtime_webhook_latency_seconds";
  const std::vector<std::tuple<std::string, Labels, double>> samples{
      {"controller_runtime_webhook_requests_total", {{"webhook", "/mutate"}, {"code", "200"}}, 2},
      {"controller_runtime_webhook_requests_total", {{"webhook", "/validate"}, {"code", "418"}}, 1},
      {"controller_runtime_webhook_requests_total", {{"webhook", "/validate"}, {"code", "200"}}, 0},
      {latency + "_bucket", {{"webhook", "/mutate"}, {"le", "0.0005"}}, 0},
      {latency + "_bucket", {{"webhook", "/mutate"}, {"le", "0.001"}}, 1},
      {latency + "_bucket", {{"webhook", "/mutate"}, {"le", "0.005"}}, 2},
      {latency + "_bucket", {{"webhook", "/mutate"}, {"le", "+Inf"}}, 2},
      {latency + "_sum", {{"webhook", "/mutate"}}, 0.0037},
      {latency + "_count", {{"webhook", "/mutate"}}, 2},
      {latency + "_bucket", {{"webhook", "/validate"}, {"le", "10"}}, 0},
      {latency + "_bucket", {{"webhook", "/validate"}, {"le", "+Inf"}}, 1},
      {"controller_runtime_webhook_requests_in_flight", {{"webhook", "/mutate"}}, 0},
      {"asm_egress_webhook_decisions_total",
       {{"webhook", "/validate"}, {"result", "denied"}, {"reason", "Invalid"}}, 1},
      {"asm_egress_webhook_decisions_total",
       {{"webhook", "/validate"}, {"result", "denied"}, {"reason", "odd \"reason\"\\\n"}}, 1},
      {"asm_egress_webhook_ports_allocated_total", {}, 5},
      {"asm_egress_webhook_serving_certificate_expiry_timestamp_seconds", {}, 1700000000},
      {"asm_egress_webhook_tls_handshake_failures_total", {}, 0},
      {"asm_egress_webhook_certificate_reload_failures_total", {}, 0},
  };
  for (const auto& [name, labels, value] : samples) {
    const auto found = testing::sample_value(text, name, labels);
    ASSERT_TRUE(found.has_value()) << "missing: " << name << "\nin:\n" << text;
    EXPECT_NEAR(*found, value, 1e-9) << name;
  }
  // Counters with nothing counted yet are not written (as before): only the
  // 200 series exist from the start.
  EXPECT_FALSE(testing::sample_value(text, "controller_runtime_webhook_requests_total",
                                     {{"webhook", "/mutate"}, {"code", "400"}}));
  EXPECT_FALSE(testing::sample_value(
      text, "asm_egress_webhook_decisions_total",
      {{"webhook", "/mutate"}, {"result", "allowed"}, {"reason", "Patched"}}));
  EXPECT_EQ(metrics.requests(WebhookPath::Mutate, 200), 2u);
  EXPECT_EQ(metrics.requests(WebhookPath::Validate, 418), 1u);
  EXPECT_EQ(metrics.requests(WebhookPath::Validate, 419), 0u);

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
  quiet.flush();
  Logger verbose(out, 1);
  verbose.debug("shown");
  verbose.flush();
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

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> parsed;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}

TEST(Logger, LinesFromManyThreadsArriveWholeOnceAndInOrderPerThread) {
  std::ostringstream out;
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  {
    Logger logger(out, 0);
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&logger, t] {
        for (int i = 0; i < per_thread; ++i) {
          logger.info("admission review", {{"thread", t}, {"i", i}});
        }
      });
    }
    for (auto& w : writers) w.join();
  }  // the destructor writes what is pending
  const auto parsed = parse_lines(out.str());
  ASSERT_EQ(parsed.size(), static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& line : parsed) {
    const int t = line.at("thread");
    EXPECT_EQ(line.at("i"), next.at(static_cast<std::size_t>(t))) << line.dump();
    ++next.at(static_cast<std::size_t>(t));
  }
}

TEST(Logger, WarningsAndErrorsAreWrittenBeforeTheCallReturns) {
  std::ostringstream out;
  Logger logger(out, 0);
  logger.info("first");
  logger.warning("second");
  // No flush: the warning waited for its own line and everything before it.
  const std::string text = out.str();
  EXPECT_NE(text.find("\"first\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"second\""), std::string::npos) << text;
}

// An output that accepts nothing until released, like a log pipe nobody reads.
class StalledBuffer : public std::stringbuf {
 public:
  void release() {
    {
      const std::lock_guard lock(mutex_);
      released_ = true;
    }
    released_changed_.notify_all();
  }
  bool writer_waiting() {
    const std::lock_guard lock(mutex_);
    return waiting_;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::unique_lock lock(mutex_);
    waiting_ = true;
    released_changed_.wait(lock, [&] { return released_; });
    return std::stringbuf::xsputn(s, n);
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_changed_;
  bool released_ = false;
  bool waiting_ = false;
};

// Lines "line" that arrived, and lines the log says it dropped.
struct LineCounts {
  std::uint64_t kept = 0;
  std::uint64_t dropped = 0;
};
LineCounts count_lines(const std::vector<nlohmann::json>& parsed) {
  LineCounts counts;
  for (const auto& line : parsed) {
    if (line.at("msg") == "line") ++counts.kept;
    if (line.contains("dropped")) counts.dropped += line.at("dropped").get<std::uint64_t>();
  }
  return counts;
}

// Logs a first line and returns once the writer is blocked writing it.
bool stall_writer(Logger& logger, StalledBuffer& buffer) {
  logger.info("stuck");
  for (int i = 0; i < 1000 && !buffer.writer_waiting(); ++i) std::this_thread::sleep_for(1ms);
  return buffer.writer_waiting();
}

TEST(Logger, AStalledOutputDropsLinesBeyondTheBoundAndSaysHowMany) {
  StalledBuffer buffer;
  std::ostream out(&buffer);
  Logger logger(out, 0);
  ASSERT_TRUE(stall_writer(logger, buffer));
  // Each line is a little over 1 KiB: 4 MiB hold about 3,900 of them.
  const std::string padding(1000, 'x');
  constexpr int logged = 6000;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < logged; ++i) logger.info("line", {{"i", i}, {"padding", padding}});
  // Logging never waited for the stalled output.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  buffer.release();
  logger.flush();
  const auto parsed = parse_lines(buffer.str());
  ASSERT_FALSE(parsed.empty());
  EXPECT_EQ(parsed.front().at("msg"), "stuck");
  const auto [kept, dropped] = count_lines(parsed);
  EXPECT_GT(kept, 3000u);
  EXPECT_LT(kept, static_cast<std::uint64_t>(logged));
  EXPECT_EQ(kept + dropped, static_cast<std::uint64_t>(logged));
}

TEST(Logger, AHugeFieldIsCutNotDroppedAndFlushReturns) {
  std::ostringstream out;
  Logger logger(out, 0);
  // A review may carry a uid of megabytes: more than the pending bound.
  std::string uid(5 * 1024 * 1024, 'u');
  uid.replace(kMaxLogFieldBytes - 1, 2, "\xc3\xa9");  // a character across the cut
  logger.info("admission review", {{"uid", uid}});
  logger.error("and then", {{"huge", uid}});
  logger.flush();
  const auto parsed = parse_lines(out.str());
  ASSERT_EQ(parsed.size(), 2u) << out.str().substr(0, 200);
  const std::string kept = parsed[0].at("uid");
  // Cut before the two-byte character rather than inside it.
  EXPECT_EQ(kept, std::string(kMaxLogFieldBytes - 1, 'u') + "... (" +
                      std::to_string(uid.size() - (kMaxLogFieldBytes - 1)) + " more bytes)");
  EXPECT_EQ(parsed[1].at("msg"), "and then");
  EXPECT_FALSE(out.str().find("dropped") != std::string::npos);
}

TEST(Logger, DroppedLinesAreCountedAsWrittenSoFlushReturns) {
  StalledBuffer buffer;
  std::ostream out(&buffer);
  Logger logger(out, 0);
  ASSERT_TRUE(stall_writer(logger, buffer));
  const std::string padding(kMaxLogFieldBytes, 'x');
  // More than the pending bound holds, then silence.
  constexpr int logged = 2000;
  for (int i = 0; i < logged; ++i) logger.info("line", {{"padding", padding}});
  buffer.release();
  logger.flush();  // returns: the writer accounts for the dropped lines too
  const auto [kept, dropped] = count_lines(parse_lines(buffer.str()));
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(kept + dropped, static_cast<std::uint64_t>(logged));
}

TEST(Logger, AWarningDoesNotWaitLongForAStalledOutput) {
  StalledBuffer buffer;
  std::ostream out(&buffer);
  Logger logger(out, 0);
  ASSERT_TRUE(stall_writer(logger, buffer));
  const auto started = std::chrono::steady_clock::now();
  logger.warning("while stalled");
  const auto waited = std::chrono::steady_clock::now() - started;
  // It waited for its line (up to the limit), then went on: not forever.
  EXPECT_GE(waited, Logger::kWarningWait - 50ms);
  EXPECT_LT(waited, Logger::kWarningWait + 10s);
  buffer.release();
  logger.flush();
  EXPECT_NE(buffer.str().find("while stalled"), std::string::npos);
}

}  // namespace
}  // namespace asmegress::server
