#include "server/certificate_keeper.h"

#include <algorithm>
#include <ctime>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "server/duration.h"

namespace asmegress::server {

using kube::Call;
using kube::WebhookConfigurationKind;

namespace {

constexpr std::string_view tls_secret_type = "kubernetes.io/tls";

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

constexpr WebhookConfigurationKind configuration_kinds[] = {WebhookConfigurationKind::Mutating,
                                                           WebhookConfigurationKind::Validating};

bool holds(const std::string& bundle, const std::string& certificate) {
  if (certificate.empty()) return false;
  const auto certificates = split_certificates(bundle);
  return std::find(certificates.begin(), certificates.end(), certificate) != certificates.end();
}

// Whether writing `wanted` would take out a certificate that `bundle` holds.
bool removes_any(const std::string& bundle, const std::string& wanted) {
  const auto kept = split_certificates(wanted);
  for (const std::string& certificate : split_certificates(bundle)) {
    if (std::find(kept.begin(), kept.end(), certificate) == kept.end()) return true;
  }
  return false;
}

}  // namespace

struct CertificateKeeper::Counters {
  prometheus::Family<prometheus::Counter>* api_requests = nullptr;
  prometheus::Family<prometheus::Counter>* secret_writes = nullptr;
  prometheus::Family<prometheus::Counter>* bundle_writes = nullptr;
  prometheus::Gauge* ready = nullptr;
};

CertificateKeeper::CertificateKeeper(const SelfCertificateConfig& config,
                                       CertificateReloader& reloader, Metrics& metrics,
                                       Logger& logger)
    : config_(config),
      reloader_(reloader),
      metrics_(metrics),
      logger_(logger),
      counters_(std::make_unique<Counters>()) {
  requirements_.dns_names = config_.dns_names;
  requirements_.ip_addresses = config_.ip_addresses;
  requirements_.validity = config_.validity;
  prometheus::Registry& registry = metrics_.registry();
  counters_->api_requests =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_kubernetes_api_requests_total")
           .Help("Requests to the Kubernetes API for the server's own certificate, by verb, "
                 "resource and HTTP status (or timeout, connection, malformed, credentials).")
           .Register(registry);
  counters_->secret_writes =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_certificate_secret_writes_total")
           .Help("Writes of the certificate Secret by this replica, by step (create, replace, "
                 "stage, promote, tidy).")
           .Register(registry);
  counters_->bundle_writes =
      &prometheus::BuildCounter()
           .Name("asm_egress_webhook_ca_bundle_writes_total")
           .Help("caBundle writes by this replica, by webhook configuration kind: the first "
                 "injection, renewals, and putting back what something else overwrote.")
           .Register(registry);
  counters_->ready = &prometheus::BuildGauge()
                          .Name("asm_egress_webhook_certificate_ready")
                          .Help("1 once the Secret's pair is served and its CA is in every "
                                "caBundle.")
                          .Register(registry)
                          .Add({});
  auto* requests = counters_->api_requests;
  client_ = std::make_unique<kube::ApiClient>(
      config_.cluster, kube::ClientLimits{config_.api_timeout, kube::ClientLimits{}.max_response_bytes},
      [requests](const kube::ApiCall& call, std::string_view code) {
        requests
            ->Add({{"verb", std::string(call.verb)},
                   {"resource", std::string(call.resource)},
                   {"code", std::string(code)}})
            .Increment();
      });
}

CertificateKeeper::~CertificateKeeper() { stop(); }

std::optional<PemPair> CertificateKeeper::placeholder_pair(const SelfCertificateConfig& config,
                                                            std::string& error) {
  PairRequirements requirements;
  requirements.dns_names = config.dns_names;
  requirements.ip_addresses = config.ip_addresses;
  requirements.validity = std::chrono::hours(24);
  auto fresh = generate_fresh_pair(requirements, error);
  if (!fresh) return std::nullopt;
  return fresh->pair;
}

void CertificateKeeper::start() {
  logger_.info("managing the serving certificate in the Kubernetes API",
               {{"secret", config_.secret_namespace + "/" + config_.secret_name},
                {"webhookConfiguration", config_.webhook_configuration},
                {"apiServer", config_.cluster.host + ":" + config_.cluster.port},
                {"credentials", config_.cluster.origin},
                {"validity", static_cast<std::int64_t>(config_.validity.count())}});
  thread_ = std::thread([this] { run(); });
}

void CertificateKeeper::request_stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

void CertificateKeeper::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

std::string CertificateKeeper::not_ready_reason() const {
  const std::lock_guard lock(mutex_);
  return not_ready_;
}

void CertificateKeeper::set_not_ready(std::string reason) {
  const std::lock_guard lock(mutex_);
  // Ready once is ready for good: flipping /readyz when something overwrites
  // the caBundle would only take every replica out of the Service at once,
  // while the next poll puts the caBundle back.
  if (not_ready_.empty()) return;
  not_ready_ = std::move(reason);
  counters_->ready->Set(not_ready_.empty() ? 1 : 0);
}

void CertificateKeeper::run() {
  for (;;) {
    const Outcome outcome = sync();
    std::chrono::milliseconds delay = config_.poll_interval;
    if (outcome == Outcome::Failed) {
      delay = backoff_;
    } else {
      backoff_ = std::chrono::milliseconds{0};
    }
    if (outcome == Outcome::Again) {
      // Another writer moved first: look again soon, not after a full poll;
      // sooner the first time than when writers keep meeting, and never in
      // step with the other replicas.
      conflict_backoff_ = conflict_backoff_.count() == 0
                              ? std::min(config_.retry_initial, config_.poll_interval)
                              : std::min(conflict_backoff_ * 2, config_.poll_interval);
      const auto spread = static_cast<std::uint_fast32_t>(conflict_backoff_.count() / 4 + 1);
      delay = conflict_backoff_ + std::chrono::milliseconds(jitter_() % spread);
    } else {
      conflict_backoff_ = std::chrono::milliseconds{0};
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, delay, [this] { return stopping_; })) return;
  }
}

CertificateKeeper::Outcome CertificateKeeper::sync() {
  std::optional<kube::Secret> secret;
  if (const Outcome outcome = read_or_create_secret(secret); outcome != Outcome::Done) {
    return outcome;
  }
  CertificateSecretContent content = read_secret_content(secret->data);
  if (const Outcome outcome = write_step(*secret, content); outcome != Outcome::Done) {
    return outcome;
  }
  serve(content, unix_now());
  return inject(content, unix_now());
}

CertificateKeeper::Outcome CertificateKeeper::read_or_create_secret(
    std::optional<kube::Secret>& secret) {
  const std::string& name = config_.secret_name;
  auto read = client_->get_secret(config_.secret_namespace, name);
  if (read) {
    if (read->type != tls_secret_type && served_certificate_.empty()) {
      logger_.warning("the certificate Secret is not of type kubernetes.io/tls; using it as it is",
                      {{"secret", config_.secret_namespace + "/" + name}, {"type", read->type}});
    }
    secret = std::move(*read);
    return Outcome::Done;
  }
  if (!read.error().is_status(404)) return failed(Call::GetSecret, name, read.error());

  std::string error;
  const auto fresh = generate_fresh_pair(requirements_, error);
  if (!fresh) {
    logger_.error("cannot generate a certificate", {{"error", error}});
    backoff_ = config_.retry_max;
    return Outcome::Failed;
  }
  CertificateSecretContent content =
      apply_secret_step({}, SecretStep::Replace, fresh, requirements_, unix_now());
  // Made anew under a running replica (someone deleted the Secret): the CA
  // of the pair served until now stays trusted while the replicas switch.
  if (!served_issuer_.empty() && !certificate_expired(served_issuer_, unix_now())) {
    content.trusted.insert(content.trusted.begin(), served_issuer_);
  }
  kube::Secret created;
  created.namespace_name = config_.secret_namespace;
  created.name = name;
  created.type = std::string(tls_secret_type);
  created.object["metadata"] = boost::json::object{
      {"labels", boost::json::object{{"app.kubernetes.io/managed-by", "asm-egress-webhook"}}}};
  write_secret_content(content, created.data);
  auto made = client_->create_secret(created);
  if (made) {
    counters_->secret_writes->Add({{"step", "create"}}).Increment();
    logger_.info("created the certificate Secret with a new CA and serving pair",
                 {{"secret", config_.secret_namespace + "/" + name}});
    secret = std::move(*made);
    return Outcome::Done;
  }
  if (!made.error().is_status(409)) return failed(Call::CreateSecret, name, made.error());
  logger_.info("another replica created the certificate Secret first; using its pair",
               {{"secret", config_.secret_namespace + "/" + name}});
  auto theirs = client_->get_secret(config_.secret_namespace, name);
  if (!theirs) return failed(Call::GetSecret, name, theirs.error());
  secret = std::move(*theirs);
  return Outcome::Done;
}

CertificateKeeper::Outcome CertificateKeeper::write_step(kube::Secret& secret,
                                                           CertificateSecretContent& content) {
  const std::int64_t now = unix_now();
  track_next_ca(content, now);
  const bool settled =
      next_ca_seen_since_ &&
      std::chrono::steady_clock::now() - *next_ca_seen_since_ >= config_.settle_period;
  const SecretDecision decision = decide_secret_step(content, requirements_, now, settled);
  if (decision.step == SecretStep::Keep) return Outcome::Done;

  std::optional<FreshPair> fresh;
  if (decision.step == SecretStep::Replace || decision.step == SecretStep::Stage) {
    std::string error;
    fresh = generate_fresh_pair(requirements_, error);
    if (!fresh) {
      logger_.error("cannot generate a certificate", {{"error", error}});
      backoff_ = config_.retry_max;
      return Outcome::Failed;
    }
  }
  const CertificateSecretContent updated =
      apply_secret_step(content, decision.step, fresh, requirements_, now);
  kube::Secret next = secret;
  write_secret_content(updated, next.data);
  auto written = client_->update_secret(next);
  if (!written) {
    if (written.error().is_status(409)) {
      logger_.info("the certificate Secret changed meanwhile (another replica's step); reading "
                   "it again",
                   {{"step", step_name(decision.step)}});
      return Outcome::Again;
    }
    return failed(Call::UpdateSecret, secret.name, written.error());
  }
  counters_->secret_writes->Add({{"step", std::string(step_name(decision.step))}}).Increment();
  const std::string where = config_.secret_namespace + "/" + secret.name;
  switch (decision.step) {
    case SecretStep::Replace:
      logger_.warning("replaced the unusable certificate pair with a new CA and pair",
                      {{"secret", where}, {"reason", decision.reason}});
      break;
    case SecretStep::Stage:
      logger_.info("renewing: a new CA is in ca.crt; its pair is served once the CA is in every "
                   "caBundle",
                   {{"secret", where}, {"reason", decision.reason}});
      break;
    case SecretStep::Promote:
      logger_.info("renewing: the new pair is the serving pair",
                   {{"secret", where}, {"reason", decision.reason}});
      break;
    case SecretStep::Tidy:
    case SecretStep::Keep:
      logger_.info("tidied the certificate Secret", {{"secret", where}, {"reason", decision.reason}});
      break;
  }
  secret = std::move(*written);
  content = read_secret_content(secret.data);
  return Outcome::Done;
}

void CertificateKeeper::serve(const CertificateSecretContent& content, std::int64_t now) {
  if (!content.serving) return;
  const PairCheck check = check_pair(*content.serving, content.trusted, requirements_, now);
  // A broken pair (one this replica could not replace) is worth no more than
  // the one in use.
  if (check.state == PairState::Unusable) return;
  served_issuer_ = check.issuer;
  if (content.serving->certificate == served_certificate_) return;
  std::string error;
  if (!reloader_.serve_pair(*content.serving, error)) {
    logger_.error("the Secret's pair does not load; keeping the pair in use", {{"error", error}});
    return;
  }
  served_certificate_ = content.serving->certificate;
  logger_.info("serving the certificate from the Secret",
               {{"secret", config_.secret_namespace + "/" + config_.secret_name},
                {"notAfter", check.not_after}});
}

void CertificateKeeper::track_next_ca(const CertificateSecretContent& content,
                                       std::int64_t now) {
  // The settle clock runs per next pair: a new one starts it again.
  const std::string next_ca =
      content.next ? check_pair(*content.next, content.trusted, requirements_, now).issuer
                   : std::string();
  if (next_ca != next_ca_seen_) {
    next_ca_seen_ = next_ca;
    next_ca_seen_since_.reset();
  }
}

CertificateKeeper::Outcome CertificateKeeper::inject(CertificateSecretContent& content,
                                                       std::int64_t now) {
  // A pair staged in this very pass is watched for from this pass on.
  track_next_ca(content, now);
  std::string bundle = ca_bundle_of(content, now);
  const std::string& name = config_.webhook_configuration;
  bool any_found = false;
  bool all_hold_served = !served_certificate_.empty();
  bool all_hold_next = !next_ca_seen_.empty();
  for (std::size_t i = 0; i < std::size(configuration_kinds); ++i) {
    const WebhookConfigurationKind kind = configuration_kinds[i];
    const std::string kind_text(kube::kind_name(kind));
    auto read = client_->get_webhook_configuration(kind, name);
    if (!read) {
      if (!read.error().is_status(404)) return failed(get_call(kind), name, read.error());
      held_[i].clear();
      if (!missing_reported_[i]) {
        missing_reported_[i] = true;
        logger_.warning("the webhook configuration does not exist (yet); nothing to inject into",
                        {{"kind", kind_text}, {"name", name}});
      }
      continue;
    }
    missing_reported_[i] = false;
    any_found = true;
    kube::WebhookConfiguration configuration = std::move(*read);
    const bool differs = std::any_of(configuration.ca_bundles.begin(),
                                     configuration.ca_bundles.end(),
                                     [&](const std::string& held) { return held != bundle; });
    if (differs && std::any_of(configuration.ca_bundles.begin(), configuration.ca_bundles.end(),
                               [&](const std::string& held) { return removes_any(held, bundle); })) {
      // About to take a CA out: make sure the Secret still says so, or a
      // replica that read it just before another's renewal would undo that
      // renewal's injection.
      auto fresh = client_->get_secret(config_.secret_namespace, config_.secret_name);
      if (!fresh) return failed(Call::GetSecret, config_.secret_name, fresh.error());
      const CertificateSecretContent current = read_secret_content(fresh->data);
      if (!(current == content)) return Outcome::Again;
    }
    if (differs) {
      const bool overwritten = !held_[i].empty() && held_[i] == bundle;
      auto patched = client_->set_ca_bundles(configuration, bundle);
      if (!patched) {
        if (patched.error().is_status(409)) {
          logger_.info("the webhook configuration changed meanwhile; reading it again",
                       {{"kind", kind_text}, {"name", name}});
          return Outcome::Again;
        }
        return failed(patch_call(kind), name, patched.error());
      }
      counters_->bundle_writes->Add({{"configuration", kind_text}}).Increment();
      if (overwritten) {
        logger_.warning("the caBundle was changed by something else; put the certificate "
                        "Secret's CAs back (under GitOps, ignore caBundle differences)",
                        {{"kind", kind_text}, {"name", name}});
      } else {
        logger_.info("set the caBundle to the certificate Secret's CAs",
                     {{"kind", kind_text},
                      {"name", name},
                      {"webhooks", configuration.webhook_names.size()},
                      {"certificates", split_certificates(bundle).size()}});
      }
      configuration = std::move(*patched);
    }
    bool all_equal = true;
    for (const std::string& held : configuration.ca_bundles) {
      all_hold_served = all_hold_served && holds(held, served_issuer_);
      all_hold_next = all_hold_next && holds(held, next_ca_seen_);
      all_equal = all_equal && held == bundle;
    }
    held_[i] = all_equal ? bundle : std::string();
  }
  if (all_hold_next && any_found) {
    if (!next_ca_seen_since_) next_ca_seen_since_ = std::chrono::steady_clock::now();
  } else {
    next_ca_seen_since_.reset();
  }
  if (!any_found) {
    set_not_ready("neither a MutatingWebhookConfiguration nor a ValidatingWebhookConfiguration "
                  "named \"" + name + "\" exists");
  } else if (served_certificate_.empty()) {
    set_not_ready("the certificate Secret holds no usable pair yet");
  } else if (all_hold_served) {
    set_not_ready({});
  } else {
    set_not_ready("the caBundles do not hold the serving CA yet");
  }
  return Outcome::Done;
}

CertificateKeeper::Outcome CertificateKeeper::failed(Call call, const std::string& name,
                                                       const kube::ApiError& error) {
  const kube::ApiCall& api_call = kube::api_call(call);
  const std::string& namespace_name = config_.secret_namespace;
  std::string fix;
  using Kind = kube::ApiError::Kind;
  if (error.is_status(403)) {
    fix = "grant " + kube::rbac_rule_text(api_call, namespace_name, name);
  } else if (error.is_status(401)) {
    fix = "the API server does not accept the credentials (" + config_.cluster.origin +
          "): check the pod's service account token or the kubeconfig's user";
  } else if (error.is_status(422) && call == Call::UpdateSecret) {
    fix = "the API server refused the Secret; if it is not of type kubernetes.io/tls, delete it "
          "and it is created anew";
  } else if (error.is_status(404)) {
    fix = "the object went away between two calls; it is looked up again";
  } else if (error.kind == Kind::Status && error.status >= 500) {
    fix = "the API server failed; retried";
  } else if (error.kind == Kind::Timeout || error.kind == Kind::Connection) {
    fix = "check that the API server at " + config_.cluster.host + ":" + config_.cluster.port +
          " is reachable from the pod (a NetworkPolicy must allow egress to it)";
  } else if (error.kind == Kind::Credentials) {
    fix = "mount the service account token (automountServiceAccountToken) or fix --kubeconfig";
  } else {
    fix = "see the error";
  }
  backoff_ = backoff_.count() == 0 ? config_.retry_initial
                                   : std::min(backoff_ * 2, config_.retry_max);
  const std::string what = std::string(api_call.verb) + " " + std::string(api_call.resource);
  logger_.error("a Kubernetes API call for the server's certificate failed; retrying",
                {{"call", what},
                 {"namespace", api_call.scope == kube::Scope::Namespaced ? namespace_name : ""},
                 {"name", name},
                 {"error", error.summary()},
                 {"fix", fix},
                 {"retryIn", to_seconds(backoff_)}});
  set_not_ready("the Kubernetes API call \"" + what + "\" failed: " + error.summary());
  return Outcome::Failed;
}

}  // namespace asmegress::server
