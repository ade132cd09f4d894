// The certificate Secret's steps, decided from its content and the time:
// a table of situations in, the step out. No clock is waited for: `now`
// is given.
#include <gtest/gtest.h>

#include <ctime>

#include "server/certificate_secret.h"
#include "server/openssl_handles.h"

namespace asmegress::server {
namespace {

PairRequirements requirements(std::chrono::seconds validity = std::chrono::seconds(90)) {
  PairRequirements r;
  r.dns_names = {"webhook.ns.svc"};
  r.ip_addresses = {"127.0.0.1"};
  r.validity = validity;
  return r;
}

FreshPair fresh(const PairRequirements& r) {
  std::string error;
  auto pair = generate_fresh_pair(r, error);
  if (!pair) throw std::runtime_error(error);
  return *pair;
}

std::int64_t not_after(const std::string& pem) {
  return certificate_not_after(certificate_from_pem(pem).get());
}

// A Secret holding one fresh pair, as a first replica writes it.
CertificateSecretContent one_pair(const FreshPair& p) {
  return CertificateSecretContent{{p.ca_certificate}, p.pair, std::nullopt};
}

TEST(CertificateSecret, ReadsAndWritesTheKeysOfAKubernetesTlsSecret) {
  const FreshPair p = fresh(requirements());
  const FreshPair q = fresh(requirements());
  const CertificateSecretContent content{{p.ca_certificate, q.ca_certificate}, p.pair, q.pair};
  std::map<std::string, std::string> data{{"other", "kept"}};
  write_secret_content(content, data);
  EXPECT_EQ(data.at("ca.crt"), p.ca_certificate + q.ca_certificate);
  EXPECT_EQ(data.at("tls.crt"), p.pair.certificate);
  EXPECT_EQ(data.at("tls.key"), p.pair.private_key);
  EXPECT_EQ(data.at("next.crt"), q.pair.certificate);
  EXPECT_EQ(data.at("other"), "kept");
  EXPECT_EQ(read_secret_content(data), content);

  write_secret_content(one_pair(p), data);
  EXPECT_EQ(data.count("next.crt"), 0u);
  EXPECT_EQ(data.count("next.key"), 0u);
}

TEST(CertificateSecret, EachSituationGivesItsStep) {
  const PairRequirements r = requirements();
  const FreshPair p = fresh(r);
  const FreshPair q = fresh(r);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t due = not_after(p.pair.certificate) - 20;  // a third of 90 s is 30 s
  const std::int64_t expired = not_after(p.pair.certificate) + 1;
  // A pair made later than p would outlive it: here, by a longer validity.
  const FreshPair later = fresh(requirements(std::chrono::seconds(180)));
  const FreshPair other_names = fresh([] {
    PairRequirements x = requirements();
    x.dns_names = {"old-name.ns.svc"};
    return x;
  }());

  struct Case {
    const char* what;
    CertificateSecretContent content;
    std::int64_t at;
    bool settled;
    SecretStep step;
  };
  const std::vector<Case> cases{
      {"nothing yet", {}, now, false, SecretStep::Replace},
      {"a fresh pair", one_pair(p), now, false, SecretStep::Keep},
      {"a third of the validity left", one_pair(p), due, false, SecretStep::Stage},
      {"expired", one_pair(p), expired, false, SecretStep::Replace},
      {"the key of another pair", {{p.ca_certificate}, PemPair{p.pair.certificate, q.pair.private_key}, std::nullopt},
       now, false, SecretStep::Replace},
      {"signed by a CA not in ca.crt", {{q.ca_certificate}, p.pair, std::nullopt}, now, false,
       SecretStep::Replace},
      {"garbage", {{p.ca_certificate}, PemPair{"x", "y"}, std::nullopt}, now, false,
       SecretStep::Replace},
      {"a requested name is missing", one_pair(other_names), now, false, SecretStep::Stage},
      {"staged, the new CA not yet seen long enough",
       {{p.ca_certificate, later.ca_certificate}, p.pair, later.pair}, due, false,
       SecretStep::Keep},
      {"staged and settled", {{p.ca_certificate, later.ca_certificate}, p.pair, later.pair}, due,
       true, SecretStep::Promote},
      {"staged, the serving pair broke meanwhile",
       {{p.ca_certificate, later.ca_certificate}, PemPair{"x", "y"}, later.pair}, now, false,
       SecretStep::Promote},
      {"staged so long ago that the next pair is due too",
       {{p.ca_certificate, q.ca_certificate}, p.pair, q.pair}, due, true, SecretStep::Tidy},
      {"a next pair whose CA is not in ca.crt", {{p.ca_certificate}, p.pair, q.pair}, now, true,
       SecretStep::Tidy},
      {"promoted, the old CA expired",
       {{p.ca_certificate, later.ca_certificate}, later.pair, std::nullopt},
       not_after(p.ca_certificate) + 1, false, SecretStep::Tidy},
  };
  for (const Case& c : cases) {
    const SecretDecision decision = decide_secret_step(c.content, r, c.at, c.settled);
    EXPECT_EQ(step_name(decision.step), step_name(c.step)) << c.what << ": " << decision.reason;
    if (c.step != SecretStep::Keep) {
      EXPECT_FALSE(decision.reason.empty()) << c.what;
    }
  }
}

TEST(CertificateSecret, ARenewalAddsTheNewCaFirstAndDropsTheOldOneOnlyAtItsExpiry) {
  const PairRequirements r = requirements();
  const FreshPair p = fresh(r);
  // Made at renewal time, it outlives p; a longer validity stands in for that.
  const FreshPair q = fresh(requirements(std::chrono::seconds(180)));
  const std::int64_t due = not_after(p.pair.certificate) - 20;

  const CertificateSecretContent staged =
      apply_secret_step(one_pair(p), SecretStep::Stage, q, r, due);
  EXPECT_EQ(staged.trusted, (std::vector<std::string>{p.ca_certificate, q.ca_certificate}));
  EXPECT_EQ(staged.serving, p.pair);  // still serving the old pair
  EXPECT_EQ(staged.next, q.pair);
  EXPECT_EQ(ca_bundle_of(staged, due), p.ca_certificate + q.ca_certificate);

  const CertificateSecretContent promoted =
      apply_secret_step(staged, SecretStep::Promote, std::nullopt, r, due);
  EXPECT_EQ(promoted.serving, q.pair);
  EXPECT_FALSE(promoted.next);
  EXPECT_EQ(promoted.trusted, staged.trusted) << "the old CA stays while its pair may be served";
  EXPECT_EQ(decide_secret_step(promoted, r, due, false).step, SecretStep::Keep);

  const std::int64_t old_gone = not_after(p.ca_certificate) + 1;
  EXPECT_EQ(ca_bundle_of(promoted, old_gone), q.ca_certificate);
  const CertificateSecretContent tidied =
      apply_secret_step(promoted, SecretStep::Tidy, std::nullopt, r, old_gone);
  EXPECT_EQ(tidied.trusted, std::vector<std::string>{q.ca_certificate});
  EXPECT_EQ(decide_secret_step(tidied, r, old_gone, false).step, SecretStep::Keep);
}

// Replicas that disagree about the names (a rolling update of --tls-san)
// stage and drop next pairs in turn: each drop takes the pair's CA with it,
// so ca.crt does not grow by a CA a poll.
TEST(CertificateSecret, ANextPairDroppedAsUnfitTakesItsCaAlong) {
  const PairRequirements r = requirements();
  const FreshPair p = fresh(r);
  const FreshPair other_names = fresh([] {
    PairRequirements x = requirements();
    x.dns_names = {"new-name.ns.svc"};
    return x;
  }());
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const CertificateSecretContent staged{
      {p.ca_certificate, other_names.ca_certificate}, p.pair, other_names.pair};
  ASSERT_EQ(decide_secret_step(staged, r, now, true).step, SecretStep::Tidy);
  const CertificateSecretContent tidied =
      apply_secret_step(staged, SecretStep::Tidy, std::nullopt, r, now);
  EXPECT_FALSE(tidied.next);
  EXPECT_EQ(tidied.serving, p.pair);
  EXPECT_EQ(tidied.trusted, std::vector<std::string>{p.ca_certificate});
}

TEST(CertificateSecret, FreshPairsAreForTheNamesAndTheValidityAndChainToTheirCa) {
  const PairRequirements r = requirements(std::chrono::hours(24 * 365));
  const FreshPair p = fresh(r);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const PairCheck check = check_pair(p.pair, {p.ca_certificate}, r, now);
  EXPECT_EQ(check.state, PairState::Usable) << check.reason;
  EXPECT_EQ(check.issuer, p.ca_certificate);
  EXPECT_NEAR(static_cast<double>(check.not_after - now), 365.0 * 24 * 3600, 60);
  const FreshPair q = fresh(r);
  EXPECT_NE(split_certificates(p.ca_certificate), split_certificates(q.ca_certificate));
  // A bundle is split into certificates written the same way each time.
  EXPECT_EQ(split_certificates(p.ca_certificate + "junk\n" + q.ca_certificate),
            (std::vector<std::string>{p.ca_certificate, q.ca_certificate}));
}

}  // namespace
}  // namespace asmegress::server
