#include "server/certificate_reloader.h"

#include "kube/cluster_access.h"


#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace asmegress::server {

namespace {

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  auto text = kube::read_file(path);
  if (!text) error = "cannot read " + path;
  return text;
}

}  // namespace

CertificateReloader::CertificateReloader(TlsFiles files, TlsMinVersion min_version,
                                         Metrics& metrics, Logger& logger)
    : files_(std::move(files)), min_version_(min_version), metrics_(metrics), logger_(logger) {}

std::optional<TlsMaterial> CertificateReloader::read_material(std::string& error) const {
  TlsMaterial material;
  if (files_.certificate.empty()) {
    // The pair is served from memory (serve_pair); only the client CA is a file.
    material.certificate_chain = in_use_.certificate_chain;
    material.private_key = in_use_.private_key;
  } else {
    auto certificate = read_file(files_.certificate, error);
    auto key = read_file(files_.private_key, error);
    if (!certificate || !key) return std::nullopt;
    material.certificate_chain = std::move(*certificate);
    material.private_key = std::move(*key);
  }
  if (!files_.client_ca.empty()) {
    auto client_ca = read_file(files_.client_ca, error);
    if (!client_ca) return std::nullopt;
    material.client_ca = std::move(*client_ca);
  }
  return material;
}

bool CertificateReloader::load(std::string& error) {
  const std::lock_guard material_lock(material_mutex_);
  const auto material = read_material(error);
  if (!material) return false;
  auto serving = make_serving_context(*material, min_version_, error);
  if (!serving) return false;
  in_use_ = *material;
  metrics_.set_certificate_expiry(serving->not_after);
  const std::lock_guard lock(mutex_);
  current_ = std::move(serving->context);
  return true;
}

std::shared_ptr<boost::asio::ssl::context> CertificateReloader::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

bool CertificateReloader::serve_pair(const PemPair& pair, std::string& error) {
  const std::lock_guard material_lock(material_mutex_);
  TlsMaterial material;
  material.certificate_chain = pair.certificate;
  material.private_key = pair.private_key;
  if (!files_.client_ca.empty()) {
    auto client_ca = read_file(files_.client_ca, error);
    if (!client_ca) return false;
    material.client_ca = std::move(*client_ca);
  }
  auto serving = make_serving_context(material, min_version_, error);
  if (!serving) return false;
  in_use_ = std::move(material);
  failed_.reset();
  metrics_.set_certificate_expiry(serving->not_after);
  const std::lock_guard lock(mutex_);
  current_ = std::move(serving->context);
  return true;
}

bool CertificateReloader::poll() {
  const std::lock_guard material_lock(material_mutex_);
  std::string error;
  const auto material = read_material(error);
  if (material && *material == in_use_) {
    failed_.reset();
    return false;
  }
  std::optional<ServingContext> serving;
  if (material) serving = make_serving_context(*material, min_version_, error);
  if (serving) {
    in_use_ = *material;
    failed_.reset();
    metrics_.set_certificate_expiry(serving->not_after);
    {
      const std::lock_guard lock(mutex_);
      current_ = std::move(serving->context);
    }
    logger_.info("serving certificate reloaded",
                 {{"certFile", files_.certificate}, {"notAfter", serving->not_after}});
    return true;
  }
  // A rotation that writes the certificate and the key one after the other
  // can be caught between the two; only a broken pair still there on the next
  // poll is a failure worth reporting.
  const TlsMaterial seen = material.value_or(TlsMaterial{});
  if (failed_ && *failed_ == seen) {
    if (!failure_reported_) {
      failure_reported_ = true;
      metrics_.certificate_reload_failed();
      logger_.error("changed certificate files cannot be loaded; keeping the previous pair",
                    {{"certFile", files_.certificate},
                     {"keyFile", files_.private_key},
                     {"error", error}});
    }
  } else {
    failed_ = seen;
    failure_reported_ = false;
  }
  return false;
}

void CertificateReloader::start(const boost::asio::any_io_executor& executor,
                                std::chrono::milliseconds interval) {
  interval_ = interval;
  // A strand: the poll chain and stop() may otherwise run on two threads at once.
  timer_ = std::make_unique<boost::asio::steady_timer>(boost::asio::make_strand(executor));
  schedule();
}

void CertificateReloader::schedule() {
  timer_->expires_after(interval_);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    poll();
    schedule();
  });
}

void CertificateReloader::stop() {
  if (!timer_) return;
  // The timer belongs to its executor's thread of control; cancel it there.
  boost::asio::post(timer_->get_executor(), [this] { timer_->cancel(); });
}

}  // namespace asmegress::server
