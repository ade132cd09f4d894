#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace asmegress::server {

// The two admission endpoints; metrics carry them as the `webhook` label.
enum class WebhookPath { Mutate, Validate };
inline constexpr std::array<WebhookPath, 2> webhook_paths{WebhookPath::Mutate,
                                                           WebhookPath::Validate};
std::string_view webhook_path_name(WebhookPath path);

// The server's Prometheus metrics, kept in prometheus-cpp's registry and
// written by its text serializer. Names and labels follow controller-runtime's
// webhook metrics so existing dashboards work; the asm_egress_webhook_* ones
// are the product's own. A sample is created the first time it counts
// something (the 200 counters and the histograms from the start, as before);
// the per-request path then only touches the library's atomics through
// pointers kept here, never a family's label lookup.
class Metrics {
 public:
  static constexpr std::array<double, 14> latency_buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

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
  // An exception escaped a connection's handler and was caught.
  void handler_exception();
  void set_certificate_expiry(std::int64_t unix_seconds);

  std::uint64_t requests(WebhookPath path, unsigned status_code) const;
  std::uint64_t validation_actions(std::string_view action) const;
  std::uint64_t tls_handshake_failures() const;
  std::uint64_t connections_evicted() const;
  std::uint64_t certificate_reload_failures() const;

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

  // Where other parts of the process register their own families, served by
  // the same /metrics.
  prometheus::Registry& registry() { return *registry_; }

 private:
  static constexpr std::array<unsigned, 11> known_codes{200, 400, 401, 403, 404,
                                                        405, 413, 415, 429, 500, 503};
  static constexpr std::array<std::string_view, 5> known_reasons{
      "", "Patched", "Ignored", "Invalid", "PortsExhausted"};
  static constexpr std::array<std::string_view, 3> validation_action_names{"Deny", "Warn",
                                                                           "Audit"};

  struct PerWebhook {
    std::array<std::atomic<prometheus::Counter*>, known_codes.size()> codes{};
    prometheus::Histogram* latency = nullptr;
    prometheus::Gauge* in_flight = nullptr;
    // [allowed][reason index]
    std::array<std::array<std::atomic<prometheus::Counter*>, known_reasons.size()>, 2> decisions{};
  };

  const PerWebhook& of(WebhookPath path) const;
  PerWebhook& of(WebhookPath path);
  prometheus::Counter& request_counter(WebhookPath path, unsigned status_code);
  prometheus::Counter& decision_counter(WebhookPath path, bool allowed, std::string_view reason);

  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Counter>* decisions_ = nullptr;
  std::array<PerWebhook, 2> webhooks_{};
  prometheus::Counter* ports_allocated_ = nullptr;
  std::array<prometheus::Counter*, validation_action_names.size()> validation_actions_{};
  prometheus::Counter* tls_handshake_failures_ = nullptr;
  prometheus::Counter* certificate_reload_failures_ = nullptr;
  prometheus::Counter* connections_evicted_ = nullptr;
  prometheus::Counter* body_waits_granted_ = nullptr;
  prometheus::Counter* body_waits_timed_out_ = nullptr;
  prometheus::Counter* handler_exceptions_ = nullptr;
  prometheus::Gauge* certificate_expiry_ = nullptr;

  // Status codes outside known_codes, for requests(); the samples themselves
  // live in the registry.
  mutable std::mutex other_mutex_;
  std::map<std::tuple<WebhookPath, unsigned>, prometheus::Counter*> other_codes_;
};

}  // namespace asmegress::server
