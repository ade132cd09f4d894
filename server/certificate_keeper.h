#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "kube/api_client.h"
#include "server/certificate_reloader.h"
#include "server/certificate_secret.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/self_certificate_config.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace asmegress::server {

// Keeps the server's own certificate (certificates.mode self), with any
// number of replicas and nothing but the Kubernetes API between them. Every
// poll interval, on a thread of its own, it:
//   1. reads the Secret; creates it with a new pair when absent (a create
//      answered 409 means another replica won: its pair is used);
//   2. takes the step decide_secret_step() names (replace a broken pair,
//      stage a renewal, promote it, tidy), as an update bound to the
//      resourceVersion read: of replicas racing, one wins and the others
//      find the step taken;
//   3. serves the Secret's pair;
//   4. makes every webhook's caBundle in both configurations equal to the
//      Secret's unexpired CAs, putting it back when something overwrote it.
// A renewal puts the new CA in ca.crt first; its pair is promoted only once
// this replica has seen that CA in every caBundle for the settle period, so
// no replica serves a certificate the API server cannot verify. The old CA
// stays until it expires, together with the one pair it signed, so replicas
// that switch later keep working.
// Failed calls are logged with what to fix, counted, and retried with
// back-off; the served pair stays in use meanwhile.
class CertificateKeeper {
 public:
  CertificateKeeper(const SelfCertificateConfig& config, CertificateReloader& reloader,
                     Metrics& metrics, Logger& logger);
  ~CertificateKeeper();
  CertificateKeeper(const CertificateKeeper&) = delete;
  CertificateKeeper& operator=(const CertificateKeeper&) = delete;

  void start();
  // Asks the thread to end after the call in flight (if any); returns at once.
  void request_stop();
  // request_stop(), then waits for the thread: at most one call's timeout.
  void stop();

  // Empty once the Secret's pair is served and the caBundles hold its CA;
  // else what is awaited, for /readyz.
  std::string not_ready_reason() const;

  // A pair for the names, served until the Secret's is: probes and /healthz
  // need a TLS listener from the start. Nothing trusts it.
  static std::optional<PemPair> placeholder_pair(const SelfCertificateConfig& config,
                                                 std::string& error);

 private:
  enum class Outcome { Done, Again, Failed };
  void run();
  Outcome sync();
  Outcome read_or_create_secret(std::optional<kube::Secret>& secret);
  Outcome write_step(kube::Secret& secret, CertificateSecretContent& content);
  void serve(const CertificateSecretContent& content, std::int64_t now);
  Outcome inject(CertificateSecretContent& content, std::int64_t now);
  void track_next_ca(const CertificateSecretContent& content, std::int64_t now);
  Outcome failed(kube::Call call, const std::string& name, const kube::ApiError& error);
  void set_not_ready(std::string reason);

  SelfCertificateConfig config_;
  PairRequirements requirements_;
  CertificateReloader& reloader_;
  Metrics& metrics_;
  Logger& logger_;
  std::unique_ptr<kube::ApiClient> client_;

  // Touched by the keeper's thread only.
  std::string served_certificate_;
  std::string served_issuer_;
  std::optional<std::chrono::steady_clock::time_point> next_ca_seen_since_;
  std::string next_ca_seen_;
  // Per configuration kind: the caBundle it held at the last look, when that
  // was the one wanted (a later difference means something else wrote it).
  std::string held_[2];
  bool missing_reported_[2] = {false, false};
  std::chrono::milliseconds backoff_{0};
  std::chrono::milliseconds conflict_backoff_{0};  // after writes another replica won
  std::minstd_rand jitter_{std::random_device{}()};

  struct Counters;
  std::unique_ptr<Counters> counters_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string not_ready_ = "the certificate Secret has not been read yet";
  std::thread thread_;
};

}  // namespace asmegress::server
