#include "server/metrics.h"

#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace asmegress::server {

namespace {

constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;

std::uint64_t whole(double value) { return static_cast<std::uint64_t>(value); }

}  // namespace

std::string_view webhook_path_name(WebhookPath path) {
  return path == WebhookPath::Mutate ? "/mutate" : "/validate";
}

const Metrics::PerWebhook& Metrics::of(WebhookPath path) const {
  return webhooks_[path == WebhookPath::Mutate ? 0 : 1];
}
Metrics::PerWebhook& Metrics::of(WebhookPath path) {
  return webhooks_[path == WebhookPath::Mutate ? 0 : 1];
}

Metrics::Metrics() : registry_(std::make_unique<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("controller_runtime_webhook_requests_total")
                   .Help("Total number of admission requests by HTTP status code.")
                   .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("controller_runtime_webhook_latency_seconds")
                      .Help("Histogram of the latency of processing admission requests.")
                      .Register(*registry_);
  auto& in_flight = prometheus::BuildGauge()
                        .Name("controller_runtime_webhook_requests_in_flight")
                        .Help("Current number of admission requests being served.")
                        .Register(*registry_);
  decisions_ = &prometheus::BuildCounter()
                    .Name("asm_egress_webhook_decisions_total")
                    .Help("Admission decisions by webhook, result and reason.")
                    .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets(latency_buckets.begin(),
                                                        latency_buckets.end());
  for (const WebhookPath path : webhook_paths) {
    const std::string label(webhook_path_name(path));
    PerWebhook& webhook = of(path);
    webhook.latency = &latency.Add({{"webhook", label}}, buckets);
    webhook.in_flight = &in_flight.Add({{"webhook", label}});
    // Dashboards find the 200 series before the first request.
    request_counter(path, 200);
  }
  ports_allocated_ = &prometheus::BuildCounter()
                          .Name("asm_egress_webhook_ports_allocated_total")
                          .Help("Gateway ports assigned by automatic allocation.")
                          .Register(*registry_)
                          .Add({});
  certificate_expiry_ =
      &prometheus::BuildGauge()
           .Name("asm_egress_webhook_serving_certificate_expiry_timestamp_seconds")
           .Help("Expiry (notAfter) of the serving certificate in use, in Unix seconds.")
           .Register(*registry_)
           .Add({});
  tls_handshake_failures_ =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_tls_handshake_failures_total")
           .Help("TLS handshakes that failed (probes, scanners, untrusted clients).")
           .Register(*registry_)
           .Add({});
  certificate_reload_failures_ =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_certificate_reload_failures_total")
           .Help("Changed certificate files that could not be loaded; the previous pair stays "
                 "in use.")
           .Register(*registry_)
           .Add({});
  auto& actions = prometheus::BuildCounter()
                      .Name("asm_egress_webhook_validation_actions_total")
                      .Help("Reviews whose validation errors each validation action acted on.")
                      .Register(*registry_);
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    validation_actions_[i] = &actions.Add({{"action", std::string(validation_action_names[i])}});
  }
  connections_evicted_ =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_connections_evicted_total")
           .Help("Connections closed at the connection limit to make room for a new one.")
           .Register(*registry_)
           .Add({});
  auto& body_waits =
      prometheus::BuildCounter()
          .Name("asm_egress_webhook_request_body_waits_total")
          .Help("Request bodies that waited for room in the in-flight budget, by outcome.")
          .Register(*registry_);
  body_waits_granted_ = &body_waits.Add({{"outcome", "granted"}});
  body_waits_timed_out_ = &body_waits.Add({{"outcome", "timed_out"}});
  handler_exceptions_ =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_handler_exceptions_total")
           .Help("Exceptions that escaped a connection's handler and were caught by its thread.")
           .Register(*registry_)
           .Add({});
}

Metrics::~Metrics() = default;

prometheus::Counter& Metrics::request_counter(WebhookPath path, unsigned status_code) {
  for (std::size_t i = 0; i < known_codes.size(); ++i) {
    if (known_codes[i] != status_code) continue;
    std::atomic<prometheus::Counter*>& slot = of(path).codes[i];
    if (prometheus::Counter* counter = slot.load(acquire)) return *counter;
    // Family::Add returns the sample already there when two threads race here.
    prometheus::Counter& counter = requests_->Add(
        {{"webhook", std::string(webhook_path_name(path))}, {"code", std::to_string(status_code)}});
    slot.store(&counter, release);
    return counter;
  }
  const std::lock_guard lock(other_mutex_);
  prometheus::Counter*& counter = other_codes_[{path, status_code}];
  if (counter == nullptr) {
    counter = &requests_->Add(
        {{"webhook", std::string(webhook_path_name(path))}, {"code", std::to_string(status_code)}});
  }
  return *counter;
}

prometheus::Counter& Metrics::decision_counter(WebhookPath path, bool allowed,
                                               std::string_view reason) {
  // Built only where the family is looked up: not for a sample already cached.
  const auto labels = [&] {
    return prometheus::Labels{{"webhook", std::string(webhook_path_name(path))},
                              {"result", allowed ? "allowed" : "denied"},
                              {"reason", std::string(reason)}};
  };
  for (std::size_t i = 0; i < known_reasons.size(); ++i) {
    if (known_reasons[i] != reason) continue;
    std::atomic<prometheus::Counter*>& slot = of(path).decisions[allowed ? 1 : 0][i];
    if (prometheus::Counter* counter = slot.load(acquire)) return *counter;
    prometheus::Counter& counter = decisions_->Add(labels());
    slot.store(&counter, release);
    return counter;
  }
  // A reason outside the engine's known set: the family's own lookup.
  return decisions_->Add(labels());
}

void Metrics::request_started(WebhookPath path) { of(path).in_flight->Increment(); }

void Metrics::request_ended(WebhookPath path) { of(path).in_flight->Decrement(); }

void Metrics::request_answered(WebhookPath path, unsigned status_code,
                               std::chrono::nanoseconds latency) {
  request_counter(path, status_code).Increment();
  of(path).latency->Observe(std::chrono::duration<double>(latency).count());
}

void Metrics::decision(WebhookPath path, bool allowed, std::string_view reason) {
  decision_counter(path, allowed, reason).Increment();
}

void Metrics::ports_allocated(std::uint64_t count) {
  ports_allocated_->Increment(static_cast<double>(count));
}
void Metrics::validation_action(std::string_view action) {
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    if (validation_action_names[i] == action) validation_actions_[i]->Increment();
  }
}
void Metrics::tls_handshake_failed() { tls_handshake_failures_->Increment(); }
void Metrics::certificate_reload_failed() { certificate_reload_failures_->Increment(); }
void Metrics::connection_evicted() { connections_evicted_->Increment(); }
void Metrics::body_waited(bool timed_out) {
  (timed_out ? body_waits_timed_out_ : body_waits_granted_)->Increment();
}
void Metrics::handler_exception() { handler_exceptions_->Increment(); }
void Metrics::set_certificate_expiry(std::int64_t unix_seconds) {
  certificate_expiry_->Set(static_cast<double>(unix_seconds));
}

std::uint64_t Metrics::requests(WebhookPath path, unsigned status_code) const {
  for (std::size_t i = 0; i < known_codes.size(); ++i) {
    if (known_codes[i] != status_code) continue;
    const prometheus::Counter* counter = of(path).codes[i].load(acquire);
    return counter == nullptr ? 0 : whole(counter->Value());
  }
  const std::lock_guard lock(other_mutex_);
  const auto found = other_codes_.find({path, status_code});
  return found == other_codes_.end() ? 0 : whole(found->second->Value());
}
std::uint64_t Metrics::validation_actions(std::string_view action) const {
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    if (validation_action_names[i] == action) return whole(validation_actions_[i]->Value());
  }
  return 0;
}
std::uint64_t Metrics::connections_evicted() const { return whole(connections_evicted_->Value()); }
std::uint64_t Metrics::tls_handshake_failures() const {
  return whole(tls_handshake_failures_->Value());
}
std::uint64_t Metrics::certificate_reload_failures() const {
  return whole(certificate_reload_failures_->Value());
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace asmegress::server
