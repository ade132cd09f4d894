#include "server/router.h"

#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include "policy/admission.h"

namespace asmegress::server {

namespace http = boost::beast::http;

namespace {

std::optional<WebhookPath> webhook_of(std::string_view path) {
  if (path == "/mutate") return WebhookPath::Mutate;
  if (path == "/validate") return WebhookPath::Validate;
  return std::nullopt;
}

bool is_probe_or_metrics(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

}  // namespace

std::string_view request_path(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

bool is_json_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  constexpr std::string_view expected = "application/json";
  if (media.size() != expected.size()) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != expected[i]) return false;
  }
  return true;
}

Router::Router(const policy::Settings& settings, bool client_certificate_required,
               Metrics& metrics, Logger& logger, const std::atomic<bool>& draining,
               std::function<std::string()> not_ready)
    : settings_(settings),
      client_certificate_required_(client_certificate_required),
      metrics_(metrics),
      logger_(logger),
      draining_(draining),
      not_ready_(std::move(not_ready)) {}

std::optional<Response> Router::refuse(const RequestHeader& header,
                                      const ConnectionFacts& connection) {
  const std::string_view path = request_path(header.target());
  const unsigned version = header.version();
  const auto webhook = webhook_of(path);
  if (!webhook) {
    if (!is_probe_or_metrics(path)) {
      return text_response(http::status::not_found, version, "404 page not found\n");
    }
    if (header.method() != http::verb::get) {
      Response response = text_response(http::status::method_not_allowed, version,
                                        "only GET is allowed on " + std::string(path) + "\n");
      response.set(http::field::allow, "GET");
      return response;
    }
    const auto length = header[http::field::content_length];
    if (!length.empty() && length != "0") {
      return text_response(http::status::payload_too_large, version,
                           "GET " + std::string(path) + " takes no request body\n");
    }
    return std::nullopt;
  }
  std::optional<Response> response;
  if (header.method() != http::verb::post) {
    response = text_response(http::status::method_not_allowed, version,
                             "only POST is allowed on " + std::string(path) + "\n");
    response->set(http::field::allow, "POST");
  } else if (client_certificate_required_ && !connection.client_certificate_verified) {
    // The handshake asked for a certificate but could not insist (the
    // kubelet's probes share this port and have none); the webhooks insist
    // here. A certificate from another CA never gets this far.
    response = text_response(http::status::unauthorized, version,
                             "a client certificate signed by the configured client CA is "
                             "required\n");
  } else if (!is_json_content_type(header[http::field::content_type])) {
    response = text_response(
        http::status::unsupported_media_type, version,
        "contentType=" + std::string(header[http::field::content_type]) +
            ", expected application/json\n");
  }
  if (response) metrics_.request_answered(*webhook, response->result_int(), std::chrono::nanoseconds{0});
  return response;
}

Response Router::handle(const Request& request) {
  const std::string_view path = request_path(request.target());
  const unsigned version = request.version();

  if (const auto webhook = webhook_of(path)) {
    const auto started = std::chrono::steady_clock::now();
    // Ends the in-flight count even when the engine throws (the session turns
    // that into a 500).
    struct InFlight {
      Metrics& metrics;
      WebhookPath path;
      ~InFlight() { metrics.request_ended(path); }
    };
    metrics_.request_started(*webhook);
    const InFlight in_flight{metrics_, *webhook};
    Response response = review(request, *webhook == WebhookPath::Mutate);
    metrics_.request_answered(*webhook, response.result_int(),
                              std::chrono::steady_clock::now() - started);
    return response;
  }

  if (path == "/healthz") return text_response(http::status::ok, version, "ok\n");
  if (path == "/readyz") {
    if (draining_.load(std::memory_order_relaxed)) {
      return text_response(http::status::service_unavailable, version, "shutting down\n");
    }
    if (not_ready_) {
      if (std::string reason = not_ready_(); !reason.empty()) {
        return text_response(http::status::service_unavailable, version, std::move(reason) + "\n");
      }
    }
    return text_response(http::status::ok, version, "ok\n");
  }
  return text_response(http::status::ok, version, metrics_.render(),
                       "text/plain; version=0.0.4; charset=utf-8");
}

Response Router::review(const Request& request, bool mutating) {
  const auto started = std::chrono::steady_clock::now();
  const WebhookPath webhook = mutating ? WebhookPath::Mutate : WebhookPath::Validate;
  policy::ReviewOutcome outcome = policy::answer_review(
      request.body(), mutating ? policy::WebhookKind::Mutating : policy::WebhookKind::Validating,
      settings_);
  const double latency =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (outcome.too_large) {
    logger_.info("admission review too large",
                 {{"webhook", webhook_path_name(webhook)}, {"error", outcome.body}});
    return text_response(http::status::payload_too_large, request.version(), outcome.body + "\n");
  }
  if (!outcome.well_formed) {
    logger_.info("malformed admission review",
                 {{"webhook", webhook_path_name(webhook)}, {"error", outcome.body}});
    std::string message = std::move(outcome.body);
    if (message.empty() || message.back() != '\n') message += '\n';
    return text_response(http::status::bad_request, request.version(), std::move(message));
  }
  const policy::ReviewSummary& summary = outcome.summary;
  metrics_.decision(webhook, summary.allowed, summary.reason);
  if (summary.ports_allocated > 0) metrics_.ports_allocated(summary.ports_allocated);
  if (summary.actions.deny) metrics_.validation_action("Deny");
  if (summary.actions.warn) metrics_.validation_action("Warn");
  if (summary.actions.audit) metrics_.validation_action("Audit");
  if (!summary.audit_errors.empty()) {
    // The Audit action's own line: the errors, where an operator rolling
    // the webhook out reads them before switching to Deny.
    logger_.info("validation audit",
                 {{"webhook", webhook_path_name(webhook)},
                  {"uid", summary.uid},
                  {"namespace", summary.namespace_name},
                  {"name", summary.name},
                  {"operation", summary.operation},
                  {"dryRun", summary.dry_run},
                  {"allowed", summary.allowed},
                  {"errors", summary.audit_errors}});
  }
  if (logger_.enabled(LogLevel::Info)) {
    logger_.info("admission review",
                 {{"webhook", webhook_path_name(webhook)},
                  {"uid", summary.uid},
                  {"kind", summary.kind},
                  {"namespace", summary.namespace_name},
                  {"name", summary.name},
                  {"operation", summary.operation},
                  {"dryRun", summary.dry_run},
                  {"allowed", summary.allowed},
                  {"code", summary.status_code},
                  {"reason", summary.reason},
                  {"portsAllocated", summary.ports_allocated},
                  {"latency", latency}});
  }
  return text_response(http::status::ok, request.version(), std::move(outcome.body),
                       "application/json");
}

Response text_response(http::status status, unsigned version, std::string body,
                       std::string_view content_type) {
  Response response{status, version};
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response Router::refusal(const RequestHeader& header, http::status status, std::string message) {
  Response response = text_response(status, header.version(), std::move(message));
  if (const auto webhook = webhook_of(request_path(header.target()))) {
    metrics_.request_answered(*webhook, response.result_int(), std::chrono::nanoseconds{0});
  }
  return response;
}

Response Router::internal_error(const RequestHeader& header, std::string_view what) {
  const std::string_view path = request_path(header.target());
  logger_.error("internal error while answering a request", {{"path", path}, {"error", what}});
  if (const auto webhook = webhook_of(path)) {
    metrics_.request_answered(*webhook, 500, std::chrono::nanoseconds{0});
  }
  return text_response(http::status::internal_server_error, header.version(),
                       "internal error\n");
}

}  // namespace asmegress::server
