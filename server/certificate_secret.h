#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/certificate_generator.h"

namespace asmegress::server {

// What the server's own certificate Secret (type kubernetes.io/tls) holds:
//   ca.crt   every CA the webhook configurations must trust (several during a
//            renewal, in order), the caBundle's content
//   tls.crt, tls.key   the pair every replica serves
//   next.crt, next.key the pair the replicas switch to once its CA is in
//            every caBundle (only during a renewal)
// A CA's key is never stored: each CA signs exactly one serving certificate
// and is thrown away, so trusting an old CA until it expires trusts nothing
// but the pair it signed.
struct CertificateSecretContent {
  std::vector<std::string> trusted;  // PEM, one certificate each, in ca.crt's order
  std::optional<PemPair> serving;
  std::optional<PemPair> next;
  bool operator==(const CertificateSecretContent&) const = default;
};

inline constexpr std::string_view secret_ca_key = "ca.crt";
inline constexpr std::string_view secret_certificate_key = "tls.crt";
inline constexpr std::string_view secret_private_key_key = "tls.key";
inline constexpr std::string_view secret_next_certificate_key = "next.crt";
inline constexpr std::string_view secret_next_private_key_key = "next.key";

CertificateSecretContent read_secret_content(const std::map<std::string, std::string>& data);
// Sets the keys above in `data` (removing next.* when there is no next pair);
// other keys are left alone.
void write_secret_content(const CertificateSecretContent& content,
                          std::map<std::string, std::string>& data);

// The certificates of a PEM bundle, each re-encoded the same way, so that
// every replica writes byte-identical caBundles. Unparsable parts are dropped.
std::vector<std::string> split_certificates(std::string_view pem_bundle);

// What a serving pair must be for this server.
struct PairRequirements {
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
};

enum class PairState {
  Usable,      // valid for the names, signed by a trusted CA, well before renewal
  RenewalDue,  // still valid, but a third of its validity or less is left,
               // or it lacks a requested name
  Unusable,    // broken, mismatched, untrusted, expired or not yet valid
};

struct PairCheck {
  PairState state = PairState::Unusable;
  std::string reason;             // why it is not Usable
  std::int64_t not_after = 0;     // Unix seconds
  std::string issuer;             // the trusted CA (PEM) that signed it
};

PairCheck check_pair(const PemPair& pair, const std::vector<std::string>& trusted,
                     const PairRequirements& requirements, std::int64_t now);

// Whether a CA certificate (PEM) has expired at `now`.
bool certificate_expired(const std::string& pem, std::int64_t now);

// The caBundle the webhook configurations must hold: the trusted CAs not
// yet expired, concatenated.
std::string ca_bundle_of(const CertificateSecretContent& content, std::int64_t now);

// The next write to the Secret, decided from its content alone, so that
// whichever replica sees it first takes the same step and the others,
// answered 409, find it taken.
enum class SecretStep {
  Keep,     // nothing to write
  Replace,  // no usable serving pair: a new CA and pair take its place at once
  Stage,    // renewal due: a new CA joins ca.crt with its pair in next.*
  Promote,  // next.*'s CA has been in every caBundle long enough: it is served
  Tidy,     // drop expired CAs or a broken next pair
};
std::string_view step_name(SecretStep step);

struct SecretDecision {
  SecretStep step = SecretStep::Keep;
  std::string reason;
};

// `next_ca_settled`: this replica has seen next.*'s CA in every caBundle for
// the settle period.
SecretDecision decide_secret_step(const CertificateSecretContent& content,
                                  const PairRequirements& requirements, std::int64_t now,
                                  bool next_ca_settled);

// The content after `step`. `fresh` (a new CA certificate and the pair it
// signed) is needed by Replace and Stage.
struct FreshPair {
  std::string ca_certificate;
  PemPair pair;
};
CertificateSecretContent apply_secret_step(const CertificateSecretContent& content,
                                           SecretStep step, const std::optional<FreshPair>& fresh,
                                           const PairRequirements& requirements,
                                           std::int64_t now);

// A new CA and a serving pair it signed for the requirements; the CA's key
// is not kept.
std::optional<FreshPair> generate_fresh_pair(const PairRequirements& requirements,
                                             std::string& error);

}  // namespace asmegress::server
