#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

namespace asmegress::server {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// Label values escape backslash, double quote and newline (exposition 0.0.4).
std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_double(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

void header(std::string& out, std::string_view name, std::string_view help,
            std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

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

void Metrics::request_started(WebhookPath path) { of(path).in_flight.fetch_add(1, relaxed); }

void Metrics::request_ended(WebhookPath path) { of(path).in_flight.fetch_sub(1, relaxed); }

void Metrics::request_answered(WebhookPath path, unsigned status_code,
                               std::chrono::nanoseconds latency) {
  PerWebhook& webhook = of(path);
  bool counted = false;
  for (std::size_t i = 0; i < known_codes.size(); ++i) {
    if (known_codes[i] == status_code) {
      webhook.codes[i].fetch_add(1, relaxed);
      counted = true;
      break;
    }
  }
  if (!counted) {
    const std::lock_guard lock(other_mutex_);
    ++other_codes_[{path, status_code}];
  }
  const double seconds = std::chrono::duration<double>(latency).count();
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    if (seconds <= latency_buckets[i]) {
      webhook.buckets[i].fetch_add(1, relaxed);
      break;  // buckets are stored non-cumulatively and summed when rendered
    }
  }
  webhook.latency_count.fetch_add(1, relaxed);
  webhook.latency_sum_ns.fetch_add(static_cast<std::uint64_t>(latency.count()), relaxed);
}

void Metrics::decision(WebhookPath path, bool allowed, std::string_view reason) {
  for (std::size_t i = 0; i < known_reasons.size(); ++i) {
    if (known_reasons[i] == reason) {
      of(path).decisions[allowed ? 1 : 0][i].fetch_add(1, relaxed);
      return;
    }
  }
  const std::lock_guard lock(other_mutex_);
  ++other_decisions_[{path, allowed, std::string(reason)}];
}

void Metrics::ports_allocated(std::uint64_t count) { ports_allocated_.fetch_add(count, relaxed); }
void Metrics::validation_action(std::string_view action) {
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    if (validation_action_names[i] == action) validation_actions_[i].fetch_add(1, relaxed);
  }
}
void Metrics::tls_handshake_failed() { tls_handshake_failures_.fetch_add(1, relaxed); }
void Metrics::certificate_reload_failed() { certificate_reload_failures_.fetch_add(1, relaxed); }
void Metrics::connection_evicted() { connections_evicted_.fetch_add(1, relaxed); }
void Metrics::body_waited(bool timed_out) {
  (timed_out ? body_waits_timed_out_ : body_waits_granted_).fetch_add(1, relaxed);
}
void Metrics::handler_exception() { handler_exceptions_.fetch_add(1, relaxed); }
void Metrics::set_certificate_expiry(std::int64_t unix_seconds) {
  certificate_expiry_.store(unix_seconds, relaxed);
}

std::uint64_t Metrics::requests(WebhookPath path, unsigned status_code) const {
  for (std::size_t i = 0; i < known_codes.size(); ++i) {
    if (known_codes[i] == status_code) return of(path).codes[i].load(relaxed);
  }
  const std::lock_guard lock(other_mutex_);
  const auto found = other_codes_.find({path, status_code});
  return found == other_codes_.end() ? 0 : found->second;
}
std::uint64_t Metrics::validation_actions(std::string_view action) const {
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    if (validation_action_names[i] == action) return validation_actions_[i].load(relaxed);
  }
  return 0;
}
std::uint64_t Metrics::tls_handshake_failures() const {
  return tls_handshake_failures_.load(relaxed);
}
std::uint64_t Metrics::connections_evicted() const { return connections_evicted_.load(relaxed); }
std::uint64_t Metrics::certificate_reload_failures() const {
  return certificate_reload_failures_.load(relaxed);
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(8192);

  header(out, "controller_runtime_webhook_requests_total",
         "Total number of admission requests by HTTP status code.", "counter");
  for (const WebhookPath path : webhook_paths) {
    const std::string label = escape_label(webhook_path_name(path));
    for (std::size_t i = 0; i < known_codes.size(); ++i) {
      const std::uint64_t value = of(path).codes[i].load(relaxed);
      if (value == 0 && known_codes[i] != 200) continue;
      out.append("controller_runtime_webhook_requests_total{webhook=\"").append(label);
      out.append("\",code=\"").append(std::to_string(known_codes[i])).append("\"} ");
      out.append(std::to_string(value)).append("\n");
    }
  }
  {
    const std::lock_guard lock(other_mutex_);
    for (const auto& [key, value] : other_codes_) {
      out.append("controller_runtime_webhook_requests_total{webhook=\"");
      out.append(escape_label(webhook_path_name(std::get<0>(key))));
      out.append("\",code=\"").append(std::to_string(std::get<1>(key))).append("\"} ");
      out.append(std::to_string(value)).append("\n");
    }
  }

  header(out, "controller_runtime_webhook_latency_seconds",
         "Histogram of the latency of processing admission requests.", "histogram");
  for (const WebhookPath path : webhook_paths) {
    const PerWebhook& webhook = of(path);
    const std::string label = escape_label(webhook_path_name(path));
    // Read the count first: buckets incremented after it only make the
    // cumulative values larger, never smaller than what a scrape already saw.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
      cumulative += webhook.buckets[i].load(relaxed);
      out.append("controller_runtime_webhook_latency_seconds_bucket{webhook=\"").append(label);
      out.append("\",le=\"").append(format_double(latency_buckets[i])).append("\"} ");
      out.append(std::to_string(cumulative)).append("\n");
    }
    const std::uint64_t count = std::max(webhook.latency_count.load(relaxed), cumulative);
    out.append("controller_runtime_webhook_latency_seconds_bucket{webhook=\"").append(label);
    out.append("\",le=\"+Inf\"} ").append(std::to_string(count)).append("\n");
    out.append("controller_runtime_webhook_latency_seconds_sum{webhook=\"").append(label);
    out.append("\"} ")
        .append(format_double(static_cast<double>(webhook.latency_sum_ns.load(relaxed)) / 1e9))
        .append("\n");
    out.append("controller_runtime_webhook_latency_seconds_count{webhook=\"").append(label);
    out.append("\"} ").append(std::to_string(count)).append("\n");
  }

  header(out, "controller_runtime_webhook_requests_in_flight",
         "Current number of admission requests being served.", "gauge");
  for (const WebhookPath path : webhook_paths) {
    out.append("controller_runtime_webhook_requests_in_flight{webhook=\"");
    out.append(escape_label(webhook_path_name(path))).append("\"} ");
    out.append(std::to_string(of(path).in_flight.load(relaxed))).append("\n");
  }

  header(out, "asm_egress_webhook_decisions_total",
         "Admission decisions by webhook, result and reason.", "counter");
  auto decision_line = [&out](WebhookPath path, bool allowed, std::string_view reason,
                              std::uint64_t value) {
    out.append("asm_egress_webhook_decisions_total{webhook=\"");
    out.append(escape_label(webhook_path_name(path)));
    out.append("\",result=\"").append(allowed ? "allowed" : "denied");
    out.append("\",reason=\"").append(escape_label(reason)).append("\"} ");
    out.append(std::to_string(value)).append("\n");
  };
  for (const WebhookPath path : webhook_paths) {
    for (int allowed = 1; allowed >= 0; --allowed) {
      for (std::size_t i = 0; i < known_reasons.size(); ++i) {
        const std::uint64_t value =
            of(path).decisions[static_cast<std::size_t>(allowed)][i].load(relaxed);
        if (value != 0) decision_line(path, allowed == 1, known_reasons[i], value);
      }
    }
  }
  {
    const std::lock_guard lock(other_mutex_);
    for (const auto& [key, value] : other_decisions_) {
      decision_line(std::get<0>(key), std::get<1>(key), std::get<2>(key), value);
    }
  }

  header(out, "asm_egress_webhook_ports_allocated_total",
         "Gateway ports assigned by automatic allocation.", "counter");
  out.append("asm_egress_webhook_ports_allocated_total ")
      .append(std::to_string(ports_allocated_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_serving_certificate_expiry_timestamp_seconds",
         "Expiry (notAfter) of the serving certificate in use, in Unix seconds.", "gauge");
  out.append("asm_egress_webhook_serving_certificate_expiry_timestamp_seconds ")
      .append(std::to_string(certificate_expiry_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_tls_handshake_failures_total",
         "TLS handshakes that failed (probes, scanners, untrusted clients).", "counter");
  out.append("asm_egress_webhook_tls_handshake_failures_total ")
      .append(std::to_string(tls_handshake_failures_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_certificate_reload_failures_total",
         "Changed certificate files that could not be loaded; the previous pair stays in use.",
         "counter");
  out.append("asm_egress_webhook_certificate_reload_failures_total ")
      .append(std::to_string(certificate_reload_failures_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_connections_evicted_total",
         "Connections closed at the connection limit to make room for a new one.", "counter");
  out.append("asm_egress_webhook_connections_evicted_total ")
      .append(std::to_string(connections_evicted_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_request_body_waits_total",
         "Request bodies that waited for room in the in-flight budget, by outcome.", "counter");
  out.append("asm_egress_webhook_request_body_waits_total{outcome=\"granted\"} ")
      .append(std::to_string(body_waits_granted_.load(relaxed)))
      .append("\n");
  out.append("asm_egress_webhook_request_body_waits_total{outcome=\"timed_out\"} ")
      .append(std::to_string(body_waits_timed_out_.load(relaxed)))
      .append("\n");

  header(out, "asm_egress_webhook_handler_exceptions_total",
         "Exceptions that escaped a connection's handler and were caught by its thread.",
         "counter");
  out.append("asm_egress_webhook_handler_exceptions_total ")
      .append(std::to_string(handler_exceptions_.load(relaxed)))
      .append("\n");
  return out;
}

std::string Metrics::render_validation_actions() const {
  std::string out;
  header(out, "asm_egress_webhook_validation_actions_total",
         "Reviews whose validation errors each validation action acted on.", "counter");
  for (std::size_t i = 0; i < validation_action_names.size(); ++i) {
    out.append("asm_egress_webhook_validation_actions_total{action=\"")
        .append(validation_action_names[i])
        .append("\"} ")
        .append(std::to_string(validation_actions_[i].load(relaxed)))
        .append("\n");
  }
  return out;
}

}  // namespace asmegress::server
