#include "server/certificate_secret.h"

#include <algorithm>
#include <ctime>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "server/openssl_handles.h"

namespace asmegress::server {

namespace {

std::string describe_seconds(std::int64_t seconds) {
  if (seconds >= 2 * 86400) return std::to_string(seconds / 86400) + " days";
  if (seconds >= 2 * 3600) return std::to_string(seconds / 3600) + " hours";
  return std::to_string(seconds) + " s";
}

const std::string* get(const std::map<std::string, std::string>& data, std::string_view key) {
  const auto found = data.find(std::string(key));
  return found == data.end() ? nullptr : &found->second;
}

}  // namespace

std::vector<std::string> split_certificates(std::string_view pem_bundle) {
  std::vector<std::string> certificates;
  const BioHandle bio(BIO_new_mem_buf(pem_bundle.data(), static_cast<int>(pem_bundle.size())));
  if (!bio) return certificates;
  while (CertificateHandle certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    certificates.push_back(certificate_to_pem(certificate.get()));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return certificates;
}

CertificateSecretContent read_secret_content(const std::map<std::string, std::string>& data) {
  CertificateSecretContent content;
  if (const std::string* ca = get(data, secret_ca_key)) content.trusted = split_certificates(*ca);
  const std::string* certificate = get(data, secret_certificate_key);
  const std::string* key = get(data, secret_private_key_key);
  if (certificate != nullptr && key != nullptr && !certificate->empty() && !key->empty()) {
    content.serving = PemPair{*certificate, *key};
  }
  const std::string* next_certificate = get(data, secret_next_certificate_key);
  const std::string* next_key = get(data, secret_next_private_key_key);
  if (next_certificate != nullptr && next_key != nullptr && !next_certificate->empty() &&
      !next_key->empty()) {
    content.next = PemPair{*next_certificate, *next_key};
  }
  return content;
}

void write_secret_content(const CertificateSecretContent& content,
                          std::map<std::string, std::string>& data) {
  std::string bundle;
  for (const std::string& certificate : content.trusted) bundle += certificate;
  data[std::string(secret_ca_key)] = bundle;
  data[std::string(secret_certificate_key)] = content.serving ? content.serving->certificate : "";
  data[std::string(secret_private_key_key)] = content.serving ? content.serving->private_key : "";
  if (content.next) {
    data[std::string(secret_next_certificate_key)] = content.next->certificate;
    data[std::string(secret_next_private_key_key)] = content.next->private_key;
  } else {
    data.erase(std::string(secret_next_certificate_key));
    data.erase(std::string(secret_next_private_key_key));
  }
}

bool certificate_expired(const std::string& pem, std::int64_t now) {
  const CertificateHandle certificate = certificate_from_pem(pem);
  return !certificate || certificate_not_after(certificate.get()) <= now;
}

std::string ca_bundle_of(const CertificateSecretContent& content, std::int64_t now) {
  std::string bundle;
  for (const std::string& ca : content.trusted) {
    if (!certificate_expired(ca, now)) bundle += ca;
  }
  return bundle;
}

PairCheck check_pair(const PemPair& pair, const std::vector<std::string>& trusted,
                     const PairRequirements& requirements, std::int64_t now) {
  PairCheck check;
  const CertificateHandle certificate = certificate_from_pem(pair.certificate);
  const PrivateKeyHandle key = private_key_from_pem(pair.private_key);
  ERR_clear_error();
  if (!certificate || !key) {
    check.reason = "the certificate or key does not parse";
    return check;
  }
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    ERR_clear_error();
    check.reason = "the key does not belong to the certificate";
    return check;
  }
  check.not_after = certificate_not_after(certificate.get());
  for (const std::string& ca_pem : trusted) {
    const CertificateHandle ca = certificate_from_pem(ca_pem);
    if (!ca || certificate_not_after(ca.get()) <= now) continue;
    EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
    if (X509_check_issued(ca.get(), certificate.get()) == X509_V_OK && ca_key != nullptr &&
        X509_verify(certificate.get(), ca_key) == 1) {
      check.issuer = ca_pem;
      break;
    }
  }
  ERR_clear_error();
  if (check.issuer.empty()) {
    check.reason = "no unexpired CA in ca.crt signed the certificate";
    return check;
  }
  const std::int64_t start = certificate_not_before(certificate.get());
  if (check.not_after <= now) {
    check.reason = "the certificate expired";
    return check;
  }
  if (start > now) {
    check.reason = "the certificate is not valid yet";
    return check;
  }
  check.state = PairState::Usable;
  for (const std::string& name : requirements.dns_names) {
    if (X509_check_host(certificate.get(), name.c_str(), name.size(), 0, nullptr) != 1) {
      check.state = PairState::RenewalDue;
      check.reason = "the certificate is not valid for " + name;
      return check;
    }
  }
  for (const std::string& address : requirements.ip_addresses) {
    if (X509_check_ip_asc(certificate.get(), address.c_str(), 0) != 1) {
      check.state = PairState::RenewalDue;
      check.reason = "the certificate is not valid for " + address;
      return check;
    }
  }
  // Renewal when a third of the validity is left; the certificate's own
  // lifetime counts when it is shorter than the one asked for now.
  const std::int64_t lifetime = check.not_after - start;
  const std::int64_t window =
      std::min<std::int64_t>(requirements.validity.count(), lifetime) / 3;
  if (check.not_after - now <= window) {
    check.state = PairState::RenewalDue;
    check.reason = "the certificate expires in " + describe_seconds(check.not_after - now);
  }
  return check;
}

std::string_view step_name(SecretStep step) {
  switch (step) {
    case SecretStep::Keep:
      return "keep";
    case SecretStep::Replace:
      return "replace";
    case SecretStep::Stage:
      return "stage";
    case SecretStep::Promote:
      return "promote";
    case SecretStep::Tidy:
      return "tidy";
  }
  return "keep";
}

SecretDecision decide_secret_step(const CertificateSecretContent& content,
                                  const PairRequirements& requirements, std::int64_t now,
                                  bool next_ca_settled) {
  const std::optional<PairCheck> serving =
      content.serving ? std::optional(check_pair(*content.serving, content.trusted, requirements, now))
                      : std::nullopt;
  const std::optional<PairCheck> next =
      content.next ? std::optional(check_pair(*content.next, content.trusted, requirements, now))
                   : std::nullopt;
  const bool next_usable = next && next->state == PairState::Usable;

  if (!serving || serving->state == PairState::Unusable) {
    const std::string why = serving ? serving->reason : "there is no serving pair";
    // Requests to a replica serving a broken pair fail already: no waiting.
    if (next_usable) return {SecretStep::Promote, why + "; switching to the next pair now"};
    return {SecretStep::Replace, why};
  }
  if (next && !next_usable) {
    return {SecretStep::Tidy, "the next pair is not fit to serve (" + next->reason + ")"};
  }
  if (next_usable) {
    if (next_ca_settled) return {SecretStep::Promote, "the next pair's CA is in every caBundle"};
    return {SecretStep::Keep, "waiting until the next pair's CA is in every caBundle"};
  }
  if (serving->state == PairState::RenewalDue) return {SecretStep::Stage, serving->reason};
  const bool expired_ca = std::any_of(content.trusted.begin(), content.trusted.end(),
                                      [now](const std::string& ca) {
                                        return certificate_expired(ca, now);
                                      });
  if (expired_ca) return {SecretStep::Tidy, "ca.crt holds an expired CA"};
  return {SecretStep::Keep, {}};
}

CertificateSecretContent apply_secret_step(const CertificateSecretContent& content,
                                           SecretStep step, const std::optional<FreshPair>& fresh,
                                           const PairRequirements& requirements,
                                           std::int64_t now) {
  CertificateSecretContent result = content;
  // Expired CAs leave with every write; the rest stay until they expire (a
  // replica may still serve the pair one of them signed).
  result.trusted.erase(std::remove_if(result.trusted.begin(), result.trusted.end(),
                                      [now](const std::string& ca) {
                                        return certificate_expired(ca, now);
                                      }),
                       result.trusted.end());
  switch (step) {
    case SecretStep::Keep:
      break;
    case SecretStep::Tidy:
      // A next pair that is not fit to be promoted goes; a fresh one is
      // staged on a later step if the serving pair is due. The CA that
      // signed it goes with it: each CA signs one pair, and a next pair is
      // never served. Else replicas that disagree about the names (a
      // rolling update of --tls-san) would stage and drop pairs in turn,
      // each leaving a CA behind for its whole validity.
      if (result.next) {
        const PairCheck next = check_pair(*result.next, result.trusted, requirements, now);
        if (next.state != PairState::Usable) {
          result.next.reset();
          const std::string serving_issuer =
              result.serving ? check_pair(*result.serving, result.trusted, requirements, now).issuer
                             : std::string();
          if (!next.issuer.empty() && next.issuer != serving_issuer) {
            result.trusted.erase(
                std::remove(result.trusted.begin(), result.trusted.end(), next.issuer),
                result.trusted.end());
          }
        }
      }
      break;
    case SecretStep::Replace:
      if (fresh) {
        result.trusted.push_back(fresh->ca_certificate);
        result.serving = fresh->pair;
        result.next.reset();
      }
      break;
    case SecretStep::Stage:
      if (fresh) {
        result.trusted.push_back(fresh->ca_certificate);
        result.next = fresh->pair;
      }
      break;
    case SecretStep::Promote:
      if (result.next) {
        result.serving = result.next;
        result.next.reset();
      }
      break;
  }
  return result;
}

std::optional<FreshPair> generate_fresh_pair(const PairRequirements& requirements,
                                             std::string& error) {
  // A name of its own for each CA, so that two in one caBundle are told apart
  // in logs and by `openssl x509 -subject`.
  const std::string ca_name =
      "asm-egress-webhook-ca@" + std::to_string(static_cast<long long>(std::time(nullptr)));
  auto ca = generate_certificate_authority(ca_name, requirements.validity, error);
  if (!ca) return std::nullopt;
  CertificateRequest request;
  request.common_name =
      !requirements.dns_names.empty() ? requirements.dns_names.front()
                                      : (!requirements.ip_addresses.empty()
                                             ? requirements.ip_addresses.front()
                                             : std::string("asm-egress-webhook"));
  request.dns_names = requirements.dns_names;
  request.ip_addresses = requirements.ip_addresses;
  request.validity = requirements.validity;
  auto pair = issue_certificate(*ca, request, error);
  if (!pair) return std::nullopt;
  return FreshPair{ca->certificate, std::move(*pair)};
}

}  // namespace asmegress::server
