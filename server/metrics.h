#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace asmegress::server {

// The two admission endpoints; metrics carry them as the `webhook` label.
enum class WebhookPath { Mutate, Validate };
inline constexpr std::array<WebhookPath, 2> webhook_paths{WebhookPath::Mutate,
                                                           WebhookPath::Validate};
std::string_view webhook_path_name(WebhookPath path);

// The server's Prometheus metrics. Names and labels follow controller-runtime's
// webhook metrics so existing dashboards work; the asm_egress_webhook_* ones
// are the product's own. Counters touched per request are atomics; only
// decisions with a reason outside the engine's known set take a lock.
class Metrics {
 public:
  static constexpr std::array<double, 14> latency_buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // The in-flight gauge: started/ended bracket every request on a webhook path.
  void request_started(WebhookPath path);
  void request_ended(WebhookPath path);
  // The request counter and the latency histogram.
  void request_answered(WebhookPath path, unsigned status_code,
                        std::chrono::nanoseconds latency);
  void decision(WebhookPath path, bool allowed, std::string_view reason);
  void ports_allocated(std::uint64_t count);
  // A review whose validation errors `action` ("Deny", "Warn" or "Audit")
  // acted on; one review may count for two (Warn,Audit).
  void validation_action(std::string_view action);
  void tls_handshake_failed();
  void certificate_reload_failed();
  // A connection closed at the connection limit to make room for a new one.
  void connection_evicted();
  // A request body waited for the body budget; it then got it or timed out.
  void body_waited(bool timed_out);
  // An exception escaped a completion handler and was caught by the thread.
  void handler_exception();
  void set_certificate_expiry(std::int64_t unix_seconds);

  std::uint64_t requests(WebhookPath path, unsigned status_code) const;
  std::uint64_t validation_actions(std::string_view action) const;
  std::uint64_t tls_handshake_failures() const;
  std::uint64_t connections_evicted() const;
  std::uint64_t certificate_reload_failures() const;

  // Prometheus text exposition format 0.0.4.
  std::string render() const;
  // asm_egress_webhook_validation_actions_total, in the same format; /metrics
  // serves it after render().
  std::string render_validation_actions() const;

 private:
  static constexpr std::array<unsigned, 11> known_codes{200, 400, 401, 403, 404,
                                                        405, 413, 415, 429, 500, 503};
  static constexpr std::array<std::string_view, 5> known_reasons{
      "", "Patched", "Ignored", "Invalid", "PortsExhausted"};
  static constexpr std::array<std::string_view, 3> validation_action_names{"Deny", "Warn",
                                                                           "Audit"};

  struct PerWebhook {
    std::array<std::atomic<std::uint64_t>, known_codes.size() + 1> codes{};  // last: other
    std::array<std::atomic<std::uint64_t>, latency_buckets.size()> buckets{};
    std::atomic<std::uint64_t> latency_count{0};
    std::atomic<std::uint64_t> latency_sum_ns{0};
    std::atomic<std::int64_t> in_flight{0};
    // [allowed][reason index]
    std::array<std::array<std::atomic<std::uint64_t>, known_reasons.size()>, 2> decisions{};
  };

  const PerWebhook& of(WebhookPath path) const;
  PerWebhook& of(WebhookPath path);

  std::array<PerWebhook, 2> webhooks_{};
  std::atomic<std::uint64_t> ports_allocated_{0};
  std::array<std::atomic<std::uint64_t>, validation_action_names.size()> validation_actions_{};
  std::atomic<std::uint64_t> tls_handshake_failures_{0};
  std::atomic<std::uint64_t> certificate_reload_failures_{0};
  std::atomic<std::uint64_t> connections_evicted_{0};
  std::atomic<std::uint64_t> body_waits_granted_{0};
  std::atomic<std::uint64_t> body_waits_timed_out_{0};
  std::atomic<std::uint64_t> handler_exceptions_{0};
  std::atomic<std::int64_t> certificate_expiry_{0};

  mutable std::mutex other_mutex_;
  std::map<std::tuple<WebhookPath, bool, std::string>, std::uint64_t> other_decisions_;
  std::map<std::tuple<WebhookPath, unsigned>, std::uint64_t> other_codes_;
};

}  // namespace asmegress::server
