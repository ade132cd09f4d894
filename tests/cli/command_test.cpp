// The built executable run as a CI job would run it: arguments, stdin,
// stdout, stderr and the exit status.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/yaml_document.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kExecutable = ASM_EGRESS_EXECUTABLE;
const fs::path kTestdata = ASM_EGRESS_TESTDATA_DIR;

// ctest runs each test in its own process, several at once: every process
// gets its own scratch folder.
fs::path scratch_dir() {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("asm-egress-cli-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the executable with `args`, stdin from `stdin_file` (or /dev/null).
Outcome run(const std::vector<std::string>& args, const fs::path& stdin_file = "/dev/null") {
  static int counter = 0;
  const fs::path dir = scratch_dir();
  const fs::path out = dir / ("out" + std::to_string(counter));
  const fs::path err = dir / ("err" + std::to_string(counter++));
  std::string command = shell_quote(kExecutable);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " <" + shell_quote(stdin_file.string()) + " >" + shell_quote(out.string()) + " 2>" +
             shell_quote(err.string());
  const int raw = std::system(command.c_str());
  Outcome result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

fs::path write_temp(const std::string& name, const std::string& content) {
  const fs::path dir = scratch_dir();
  std::ofstream(dir / name, std::ios::binary) << content;
  return dir / name;
}

std::vector<json::value> documents(const std::string& yaml) {
  auto parsed = parse_yaml_documents(yaml, "stdout");
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string());
  std::vector<json::value> values;
  if (parsed) {
    for (auto& d : *parsed) values.push_back(std::move(d.value));
  }
  return values;
}

// to[].name -> byEgressGateway.port, over every rule.
std::map<std::string, std::int64_t> gateway_ports(const json::value& policy) {
  std::map<std::string, std::int64_t> ports;
  for (const auto& rule : policy.at("spec").at("egressRules").as_array()) {
    for (const auto& to : rule.at("to").as_array()) {
      const auto* gateway = to.as_object().if_contains("byEgressGateway");
      ports[std::string(to.at("name").as_string())] =
          gateway ? gateway->at("port").as_int64() : 0;
    }
  }
  return ports;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const std::map<std::string, std::int64_t> kSeedAutoPorts{
    {"aliyun-com-http", 10000}, {"aliyun-https", 10001}, {"https-upgrade", 10000},
    {"tcp-svc1", 10002},        {"tcp-svc2", 10003}};

class SeedCheckTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SeedCheckTest, IsAdmitted) {
  const fs::path file = kTestdata / GetParam();
  const Outcome r = run({"check", "-f", file.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("Error"), std::string::npos) << r.err;
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 1U) << r.out;
  EXPECT_EQ(out[0].at("kind"), "ASMEgressTrafficPolicy");
  // Admitted output is stable: checking it again changes nothing.
  const Outcome again = run({"check", "-f", write_temp("again.yaml", r.out).string()});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeedCheckTest,
                         ::testing::Values("seed-auto-ports.yaml", "seed-http.yaml",
                                           "seed-https-upgrade.yaml"));

TEST(CheckCommand, AutoPortsGetTheDocumentedPorts) {
  const Outcome r = run({"check", "-f", (kTestdata / "seed-auto-ports.yaml").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(gateway_ports(out[0]), kSeedAutoPorts);
  // The TCP entry to a domain earns kubectl's warning line.
  EXPECT_NE(r.err.find("Warning: "), std::string::npos) << r.err;
  for (const auto& line : lines(r.err)) EXPECT_EQ(line.rfind("Warning: ", 0), 0U) << line;
}

TEST(CheckCommand, SeedFixturesTogetherInOneRun) {
  const Outcome r = run({"check", "-f", (kTestdata / "seed-http.yaml").string(), "-f",
                     (kTestdata / "seed-auto-ports.yaml").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(gateway_ports(out[0]).at("httpbin-service-http"), 80);
  EXPECT_EQ(gateway_ports(out[1]), kSeedAutoPorts);
}

TEST(CheckCommand, DeniedPolicyListsEveryFieldError) {
  const fs::path file = kTestdata / "cli" / "denied.yaml";
  const Outcome r = run({"check", "-f", file.string()});
  EXPECT_EQ(r.status, 1);
  const auto err = lines(r.err);
  const std::string header = "Error from server (Invalid): error when applying \"" +
                             file.string() +
                             "\" (document 1): The ASMEgressTrafficPolicy \"wrong-name\" is "
                             "invalid:";
  ASSERT_NE(std::find(err.begin(), err.end(), header), err.end()) << r.err;
  const std::vector<std::string> expected_prefixes{
      "* spec.egressRules[0].to[0].port.number: Invalid value: \"80\": must be an integer",
      "* spec.egressRules[0].to[0].port.protocol: Unsupported value: \"FTP\"",
      "* metadata.namespace: Invalid value: \"default\"",
      "* metadata.name: Invalid value: \"wrong-name\"",
  };
  for (const auto& prefix : expected_prefixes) {
    EXPECT_TRUE(std::any_of(err.begin(), err.end(),
                            [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }))
        << "no line starting with " << prefix << " in:\n"
        << r.err;
  }
  const auto cause_lines =
      std::count_if(err.begin(), err.end(), [](const std::string& l) { return l.rfind("* ", 0) == 0; });
  EXPECT_EQ(cause_lines, 4) << r.err;
  // The object is still printed, so stdout lines up with the input.
  EXPECT_EQ(documents(r.out).size(), 1U);
}

TEST(CheckCommand, MissingFileIsExit2) {
  const Outcome r = run({"check", "-f", "/nonexistent/policy.yaml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "error: the path \"/nonexistent/policy.yaml\" does not exist\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(CheckCommand, MissingFileAmongGoodOnesStopsEverything) {
  const Outcome r = run({"check", "-f", (kTestdata / "seed-http.yaml").string(), "-f",
                     "/nonexistent/policy.yaml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CheckCommand, SyntaxErrorNamesFileAndLine) {
  const fs::path file = kTestdata / "cli" / "syntax-error.yaml";
  const Outcome r = run({"check", "-f", file.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("error: " + file.string() + ":5:", 0), 0U) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(CheckCommand, SyntaxErrorInOldFileIsExit2) {
  const Outcome r = run({"check", "-f", (kTestdata / "seed-http.yaml").string(), "--old",
                     (kTestdata / "cli" / "syntax-error.yaml").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("syntax-error.yaml:5:"), std::string::npos) << r.err;
}

TEST(CheckCommand, UpdateKeepsPortsOfOldObject) {
  const fs::path updated = kTestdata / "cli" / "update-new.yaml";
  const fs::path old = kTestdata / "cli" / "update-old.yaml";
  const Outcome update = run({"check", "-f", updated.string(), "--old", old.string()});
  ASSERT_EQ(update.status, 0) << update.err;
  const auto out = documents(update.out);
  ASSERT_EQ(out.size(), 1U);
  const std::map<std::string, std::int64_t> kept{{"aliyun-com-http", 10000},
                                                 {"aliyun-https", 10001},
                                                 {"https-upgrade", 10000},
                                                 {"tcp-svc2", 10003}};
  EXPECT_EQ(gateway_ports(out[0]), kept);

  // As a CREATE, the freed port is reused.
  const Outcome create = run({"check", "-f", updated.string()});
  ASSERT_EQ(create.status, 0) << create.err;
  EXPECT_EQ(gateway_ports(documents(create.out).at(0)).at("tcp-svc2"), 10002);

  // Applying the result again over itself changes nothing.
  const fs::path result = write_temp("update-result.yaml", update.out);
  const Outcome again = run({"check", "-f", result.string(), "--old", result.string()});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, update.out);
}

TEST(CheckCommand, OldObjectsMatchByNamespaceAndName) {
  std::string old = read_file(kTestdata / "cli" / "update-old.yaml");
  const std::string name = "name: egress-by-egressgateway-a";
  const auto renamed = [&](const std::string& replacement) {
    std::string copy = old;
    copy.replace(copy.find(name), name.size(), replacement);
    return copy;
  };
  const fs::path updated = kTestdata / "cli" / "update-new.yaml";
  // Another name: no match, so a CREATE, and tcp-svc2 takes the lowest free port.
  const Outcome other = run({"check", "-f", updated.string(), "--old",
                             write_temp("old-other.yaml", renamed("name: egress-by-other")).string()});
  ASSERT_EQ(other.status, 0) << other.err;
  EXPECT_EQ(gateway_ports(documents(other.out).at(0)).at("tcp-svc2"), 10002);
  // The same name among other documents: matched.
  const fs::path several = write_temp(
      "old-several.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n" +
                              renamed("name: egress-by-other") + "---\n" + old);
  const Outcome matched = run({"check", "-f", updated.string(), "--old", several.string()});
  ASSERT_EQ(matched.status, 0) << matched.err;
  EXPECT_EQ(gateway_ports(documents(matched.out).at(0)).at("tcp-svc2"), 10003);
}

TEST(CheckCommand, ReadsStdin) {
  const fs::path seed = kTestdata / "seed-auto-ports.yaml";
  const Outcome from_file = run({"check", "-f", seed.string()});
  const Outcome implicit = run({"check"}, seed);
  const Outcome dash = run({"check", "-f", "-"}, seed);
  EXPECT_EQ(implicit.status, 0) << implicit.err;
  EXPECT_EQ(dash.status, 0) << dash.err;
  EXPECT_EQ(implicit.out, from_file.out);
  EXPECT_EQ(dash.out, from_file.out);
}

TEST(CheckCommand, StdinErrorsSayStdin) {
  const Outcome r = run({"check"}, kTestdata / "cli" / "denied.yaml");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error when applying \"STDIN\" (document 1)"), std::string::npos) << r.err;
}

TEST(CheckCommand, ReadsJson) {
  const json::value review = json::parse(read_file(kTestdata / "review-create-auto-ports.json"));
  const fs::path file =
      write_temp("policy.json", json::serialize(review.at("request").at("object")));
  const Outcome r = run({"check", "-f", file.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(gateway_ports(documents(r.out).at(0)), kSeedAutoPorts);
}

TEST(CheckCommand, MultiDocumentKeepsOtherObjectsAndOrder) {
  const fs::path file = kTestdata / "cli" / "multi-document.yaml";
  const Outcome r = run({"check", "-f", file.string()});
  EXPECT_EQ(r.status, 1);
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 3U) << r.out;
  // The ConfigMap is untouched: its quoted numbers stay strings.
  EXPECT_EQ(out[0], json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
      "metadata":{"name":"settings","namespace":"default"},
      "data":{"port":"80","enabled":"true"}})"));
  EXPECT_EQ(gateway_ports(out[1]).at("mirror-https"), 10001);
  EXPECT_EQ(out[2].at("metadata").at("name"), "egress-by-egressgateway-c");
  // The empty document between them is skipped in the count.
  EXPECT_NE(r.err.find("(document 3): The ASMEgressTrafficPolicy \"egress-by-egressgateway-c\" "
                       "is invalid:\n* spec.egressRules[0].to[0].byEgressGateway.port: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("(document 2)"), std::string::npos) << r.err;
  const auto out_lines = lines(r.out);
  const auto separators = std::count(out_lines.begin(), out_lines.end(), "---");
  EXPECT_EQ(separators, 2);
}

TEST(CheckCommand, PolicyFlagsApply) {
  const Outcome r = run({"check", "-f", (kTestdata / "seed-auto-ports.yaml").string(),
                     "--policy-namespace", "egress"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("* metadata.namespace: "), std::string::npos) << r.err;
}

TEST(CheckCommand, HelpExplainsExitStatus) {
  const Outcome r = run({"check", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
  EXPECT_NE(r.out.find("--old"), std::string::npos);
}

std::string base64_decode(std::string_view in) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    const auto index = alphabet.find(c);
    if (index == std::string::npos) {
      ADD_FAILURE() << "not base64: " << c;
      return {};
    }
    buffer = (buffer << 6U) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

TEST(ReviewCommand, MutateAnswersWithAPatch) {
  const fs::path review_file = kTestdata / "review-create-auto-ports.json";
  const Outcome r = run({"review", "--mutate"}, review_file);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: the server's body";
  const json::value answer = json::parse(r.out);
  EXPECT_EQ(answer.at("apiVersion"), "admission.k8s.io/v1");
  EXPECT_EQ(answer.at("response").at("uid"), "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(answer.at("response").at("allowed"), true);
  EXPECT_EQ(answer.at("response").at("patchType"), "JSONPatch");

  // The patch, applied by another JSON Patch implementation, gives the ports.
  const auto request = nlohmann::json::parse(read_file(review_file));
  const auto patch =
      nlohmann::json::parse(base64_decode(answer.at("response").at("patch").as_string()));
  const nlohmann::json patched = request["request"]["object"].patch(patch);
  const auto& to = patched["spec"]["egressRules"][0]["to"];
  std::map<std::string, std::int64_t> ports;
  for (const auto& entry : to) {
    ports[entry["name"].get<std::string>()] = entry["byEgressGateway"]["port"].get<std::int64_t>();
  }
  EXPECT_EQ(ports, kSeedAutoPorts);
}

TEST(ReviewCommand, ValidateNeverPatches) {
  const Outcome r = run({"review", "--validate"}, kTestdata / "review-create-auto-ports.json");
  EXPECT_LE(r.status, 1) << r.err;
  const json::value answer = json::parse(r.out);
  EXPECT_FALSE(answer.at("response").as_object().contains("patch"));
}

TEST(ReviewCommand, DenialIsExit1With422) {
  json::value review = json::parse(read_file(kTestdata / "review-create-auto-ports.json"));
  review.at("request").at("object").at("metadata").at("namespace") = "default";
  const fs::path file = write_temp("review-denied.json", json::serialize(review));
  const Outcome r = run({"review", "--validate"}, file);
  EXPECT_EQ(r.status, 1) << r.err;
  const json::value answer = json::parse(r.out);
  EXPECT_EQ(answer.at("response").at("allowed"), false);
  EXPECT_EQ(answer.at("response").at("status").at("code"), 422);
}

TEST(ReviewCommand, MalformedReviewIsExit2) {
  const Outcome r = run({"review", "--mutate"}, kTestdata / "cli" / "review-malformed.json");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("uid"), std::string::npos) << r.err;

  const Outcome not_json = run({"review", "--validate"}, kTestdata / "seed-http.yaml");
  EXPECT_EQ(not_json.status, 2);
  EXPECT_TRUE(not_json.out.empty());
}

TEST(ReviewCommand, MemoryCapFlagApplies) {
  // A review that outgrows the engine's first 16 KiB: 400 destinations.
  json::value review = json::parse(read_file(kTestdata / "review-create-auto-ports.json"));
  json::array& to = review.at("request").at("object").at("spec").at("egressRules").at(0).at("to").as_array();
  const json::value first = to.at(0);
  for (int i = 0; i < 400; ++i) {
    json::value entry = first;
    entry.at("name") = "svc-" + std::to_string(i);
    to.push_back(entry);
  }
  const fs::path file = write_temp("review-large.json", json::serialize(review));
  const Outcome capped = run({"review", "--validate", "--max-review-memory", "4096"}, file);
  EXPECT_EQ(capped.status, 2);
  EXPECT_TRUE(capped.out.empty()) << capped.out;
  EXPECT_NE(capped.err.find("too large"), std::string::npos) << capped.err;
  EXPECT_NE(capped.err.find("4096 bytes"), std::string::npos) << capped.err;
  EXPECT_LE(run({"review", "--validate"}, file).status, 1);
}

TEST(ReviewCommand, NeedsExactlyOneEndpoint) {
  EXPECT_EQ(run({"review"}, kTestdata / "review-create-auto-ports.json").status, 2);
  EXPECT_EQ(run({"review", "--mutate", "--validate"}, kTestdata / "review-create-auto-ports.json")
                .status,
            2);
}

// --- Auditing what a cluster stores ------------------------------------------

const fs::path kStoredList = kTestdata / "cli" / "stored-list.yaml";
const fs::path kStoredListJson = kTestdata / "cli" / "stored-list.json";
const std::string kItem2 = "(document 1, item 2: istio-egress/egress-by-egressgateway-b)";
const std::string kFtp = "spec.egressRules[0].to[0].port.protocol";

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(CheckCommand, ListFromKubectlGetYamlIsCheckedItemByItem) {
  // kubectl get asmegresstrafficpolicies -A -o yaml | asm-egress-webhook check -f -
  const Outcome r = run({"check", "-f", "-"}, kStoredList);
  EXPECT_EQ(r.status, 1) << "the invalid item passed:\n" << r.err;
  EXPECT_EQ(count_of(r.err, "Error from server (Invalid)"), 1U) << r.err;
  EXPECT_NE(r.err.find("error when applying \"STDIN\" " + kItem2 +
                       ": The ASMEgressTrafficPolicy \"egress-by-egressgateway-b\" is invalid:\n* " +
                       kFtp + ": Unsupported value: \"FTP\""),
            std::string::npos)
      << r.err;
  // The list comes back as a list, its items as checked.
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].at("kind"), "List");
  EXPECT_EQ(out[0].at("items").as_array().size(), 2U);
}

TEST(CheckCommand, KindListFromKubectlGetJsonIsCheckedItemByItem) {
  const Outcome r = run({"check", "-f", kStoredListJson.string()});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(count_of(r.err, "Error from server (Invalid)"), 1U) << r.err;
  EXPECT_NE(r.err.find("\"" + kStoredListJson.string() + "\" " + kItem2), std::string::npos)
      << r.err;
  const auto out = documents(r.out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].at("kind"), "ASMEgressTrafficPolicyList");
}

TEST(CheckCommand, ValidItemsOfAListPass) {
  std::string text = read_file(kStoredList);
  const std::string ftp = "protocol: FTP";
  text.replace(text.find(ftp), ftp.size(), "protocol: TCP");
  const Outcome r = run({"check", "-f", write_temp("valid-list.yaml", text).string()});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(CheckCommand, ItemsOfAListGetPortsAssigned) {
  const json::value review = json::parse(read_file(kTestdata / "review-create-auto-ports.json"));
  const json::value list = {{"apiVersion", "v1"},
                            {"kind", "List"},
                            {"items", json::array{review.at("request").at("object")}}};
  const Outcome r = run({"check", "-f", write_temp("list.json", json::serialize(list)).string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(gateway_ports(documents(r.out).at(0).at("items").at(0)), kSeedAutoPorts);
}

TEST(CheckCommand, WarningsNameTheirObjectAndFile) {
  const fs::path file = kTestdata / "seed-auto-ports.yaml";
  const Outcome r = run({"check", "-f", file.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("Warning: istio-egress/egress-by-egressgateway-a in \"" + file.string() +
                       "\" (document 1): spec.egressRules[0].to[4]: TCP to a domain name"),
            std::string::npos)
      << r.err;
}

TEST(CheckCommand, JsonOutputReportsEveryPolicy) {
  const Outcome r = run({"check", "-o", "json", "-f", (kTestdata / "seed-auto-ports.yaml").string(),
                         "-f", (kTestdata / "cli" / "denied.yaml").string(), "-f",
                         kStoredList.string()});
  EXPECT_EQ(r.status, 1) << "the exit status rules are the same";
  EXPECT_TRUE(r.err.empty()) << "everything is in the report:\n" << r.err;
  const json::value report = json::parse(r.out);  // one document
  const json::array& objects = report.at("objects").as_array();
  ASSERT_EQ(objects.size(), 4U) << r.out;

  const json::object& seed = objects[0].as_object();
  EXPECT_EQ(seed.at("file").as_string(), (kTestdata / "seed-auto-ports.yaml").string());
  EXPECT_EQ(seed.at("document"), 1);
  EXPECT_TRUE(seed.at("item").is_null());
  EXPECT_EQ(seed.at("namespace"), "istio-egress");
  EXPECT_EQ(seed.at("name"), "egress-by-egressgateway-a");
  EXPECT_EQ(seed.at("operation"), "CREATE");
  EXPECT_EQ(seed.at("allowed"), true);
  EXPECT_TRUE(seed.at("errors").as_array().empty());
  EXPECT_EQ(seed.at("warnings").as_array().size(), 1U);
  std::map<std::string, std::int64_t> allocated;
  for (const auto& p : seed.at("allocatedPorts").as_array()) {
    allocated[std::string(p.at("field").as_string())] = p.at("port").as_int64();
  }
  EXPECT_EQ(allocated, (std::map<std::string, std::int64_t>{
                           {"spec.egressRules[0].to[0].byEgressGateway.port", 10000},
                           {"spec.egressRules[0].to[1].byEgressGateway.port", 10001},
                           {"spec.egressRules[0].to[2].byEgressGateway.port", 10000},
                           {"spec.egressRules[0].to[3].byEgressGateway.port", 10002},
                           {"spec.egressRules[0].to[4].byEgressGateway.port", 10003}}));

  const json::object& denied = objects[1].as_object();
  EXPECT_EQ(denied.at("allowed"), false);
  EXPECT_EQ(denied.at("name"), "wrong-name");
  EXPECT_EQ(denied.at("namespace"), "default");
  const json::array& errors = denied.at("errors").as_array();
  ASSERT_EQ(errors.size(), 4U);
  EXPECT_EQ(errors[0], (json::value{{"field", "spec.egressRules[0].to[0].port.number"},
                                    {"type", "FieldValueInvalid"},
                                    {"message", "Invalid value: \"80\": must be an integer"}}));

  EXPECT_EQ(objects[2].at("item"), 1);
  EXPECT_EQ(objects[2].at("allowed"), true);
  EXPECT_EQ(objects[3].at("item"), 2);
  EXPECT_EQ(objects[3].at("document"), 1);
  EXPECT_EQ(objects[3].at("name"), "egress-by-egressgateway-b");
  EXPECT_EQ(objects[3].at("allowed"), false);
  EXPECT_EQ(objects[3].at("errors").at(0).at("field").as_string(), kFtp);
}

TEST(CheckCommand, JsonOutputOfAdmittedPoliciesIsExit0) {
  const Outcome r = run({"check", "-o", "json", "-f", (kTestdata / "seed-http.yaml").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("objects").as_array().size(), 1U);
}

TEST(CheckCommand, JsonOutputPrintsNothingWhenAnInputIsUnreadable) {
  const Outcome r = run({"check", "-o", "json", "-f", (kTestdata / "seed-http.yaml").string(), "-f",
                         "/nonexistent/policy.yaml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(run({"check", "-o", "table"}).status, 2);
}

// --- Updates of stored policies ---------------------------------------------

std::string labelled_item_2() {
  std::string text = read_file(kStoredList);
  const std::string at = "    resourceVersion: \"1202\"\n";
  text.replace(text.find(at), at.size(), at + "    labels:\n      team: files\n");
  return text;
}

TEST(CheckCommand, OldStoredListRatchetsAnUnchangedError) {
  const Outcome r = run({"check", "-f", write_temp("labelled.yaml", labelled_item_2()).string(),
                         "--old", kStoredList.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("Warning: istio-egress/egress-by-egressgateway-b in "),
            std::string::npos);
  EXPECT_NE(r.err.find("(document 1, item 2): " + kFtp + ": already invalid before this update"),
            std::string::npos)
      << r.err;

  // The same field made wrong another way is a new error.
  std::string smtp = labelled_item_2();
  smtp.replace(smtp.find("protocol: FTP"), 13, "protocol: SMTP");
  const Outcome changed =
      run({"check", "-f", write_temp("smtp.yaml", smtp).string(), "--old", kStoredList.string()});
  EXPECT_EQ(changed.status, 1) << changed.err;
  EXPECT_NE(changed.err.find("Unsupported value: \"SMTP\""), std::string::npos) << changed.err;
  EXPECT_EQ(changed.err.find("\"FTP\""), std::string::npos) << changed.err;
}

// `check --old` answers as the server does for the UPDATE the API server
// would send: the same allowed, the same warnings.
TEST(CheckCommand, OldGivesTheServersAnswer) {
  const auto items = [](const std::string& yaml) {
    return documents(yaml).at(0).at("items").as_array();
  };
  const json::array old_items = items(read_file(kStoredList));
  const json::array new_items = items(labelled_item_2());
  const json::value review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", "u-1"},
        {"kind", {{"group", "istio.alibabacloud.com"}, {"version", "v1beta1"},
                  {"kind", "ASMEgressTrafficPolicy"}}},
        {"operation", "UPDATE"},
        {"name", "egress-by-egressgateway-b"},
        {"namespace", "istio-egress"},
        {"object", new_items.at(1)},
        {"oldObject", old_items.at(1)}}}};
  const Outcome server =
      run({"review", "--validate"}, write_temp("update.json", json::serialize(review)));
  ASSERT_EQ(server.status, 0) << server.err;
  const json::value answer = json::parse(server.out).at("response");

  const Outcome check =
      run({"check", "-o", "json", "-f", write_temp("labelled.yaml", labelled_item_2()).string(),
           "--old", kStoredList.string()});
  ASSERT_EQ(check.status, 0) << check.err;
  const json::value entry = json::parse(check.out).at("objects").at(1);
  EXPECT_EQ(entry.at("operation"), "UPDATE");
  EXPECT_EQ(entry.at("allowed"), answer.at("allowed"));
  EXPECT_EQ(entry.at("warnings"), answer.at("warnings"));
}

TEST(CheckCommand, OldWithTheSameSpecAssignsNoPorts) {
  // Stored with blank ports; a label is no reason to fill them.
  const fs::path stored = kTestdata / "seed-auto-ports.yaml";
  std::string labelled = read_file(stored);
  const std::string at = "  namespace: istio-egress\n";
  labelled.replace(labelled.find(at), at.size(), at + "  labels:\n    team: web\n");
  const Outcome r = run({"check", "-f", write_temp("labelled-seed.yaml", labelled).string(),
                         "--old", stored.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& [name, port] : gateway_ports(documents(r.out).at(0))) {
    EXPECT_EQ(port, 0) << name << " was given a port";
  }
}

// --- Validation actions ------------------------------------------------------

TEST(CheckCommand, WarnAdmitsWithTheErrorsAsWarnings) {
  const fs::path file = kTestdata / "cli" / "denied.yaml";
  const Outcome r = run({"check", "-f", file.string(), "--validation-actions", "Warn"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("Error from server"), std::string::npos) << r.err;
  EXPECT_EQ(count_of(r.err, "Warning: "), 4U) << r.err;
  EXPECT_NE(r.err.find("(document 1): metadata.namespace: Invalid value: \"default\""),
            std::string::npos)
      << r.err;
}

TEST(CheckCommand, AuditAdmitsAndReportsTheAnnotations) {
  const Outcome r = run({"check", "-o", "json", "-f", (kTestdata / "cli" / "denied.yaml").string(),
                         "--validation-actions", "Audit"});
  EXPECT_EQ(r.status, 0) << r.err;
  const json::value entry = json::parse(r.out).at("objects").at(0);
  EXPECT_EQ(entry.at("allowed"), true);
  EXPECT_EQ(entry.at("errors").as_array().size(), 4U);
  const json::value annotated =
      json::parse(entry.at("auditAnnotations").at("validation-errors").as_string());
  EXPECT_EQ(annotated, entry.at("errors"));
}

TEST(ValidationActionsFlag, DenyWithWarnIsRefusedByEveryCommand) {
  const std::vector<std::vector<std::string>> commands{
      {"check", "-f", (kTestdata / "seed-http.yaml").string()},
      {"review", "--validate"},
      {"serve", "--secure-port", "0"},
  };
  for (auto args : commands) {
    args.push_back("--validation-actions=Deny,Warn");
    const Outcome r = run(args, kTestdata / "review-create-auto-ports.json");
    EXPECT_EQ(r.status, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("--validation-actions: must not contain both Deny and Warn"),
              std::string::npos)
        << args[0] << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << args[0];
  }
}

TEST(ValidationActionsFlag, WarnAndAuditTogetherAreAccepted) {
  json::value review = json::parse(read_file(kTestdata / "review-create-auto-ports.json"));
  review.at("request").at("object").at("metadata").at("namespace") = "default";
  const Outcome r = run({"review", "--validate", "--validation-actions", "Warn,Audit"},
                        write_temp("review-warn.json", json::serialize(review)));
  EXPECT_EQ(r.status, 0) << r.err;
  const json::value answer = json::parse(r.out).at("response");
  EXPECT_EQ(answer.at("allowed"), true);
  EXPECT_TRUE(answer.as_object().contains("warnings"));
  EXPECT_TRUE(answer.as_object().contains("auditAnnotations"));
}

// certificates.mode self: the flags and what they refuse, before anything
// is served.
const std::vector<std::string> kSelfFlags{"serve",
                                          "--certificate-secret=asm-egress-webhook/webhook-tls",
                                          "--inject-ca-into=egress-asm-egress-webhook",
                                          "--tls-san=webhook.asm-egress-webhook.svc,10.0.0.7",
                                          "--secure-port=0",
                                          "--bind-address=127.0.0.1"};

std::vector<std::string> self_flags_with(std::vector<std::string> extra) {
  std::vector<std::string> args = kSelfFlags;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ServeCommand, SelfCertificatesAreRefusedWithCertificateFiles) {
  const Outcome both = run(self_flags_with({"--tls-cert-file=/tmp/x.crt"}));
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("--tls-cert-file excludes --certificate-secret"), std::string::npos)
      << both.err;
  EXPECT_EQ(run(self_flags_with({"--tls-private-key-file=/tmp/x.key"})).status, 2);
}

TEST(ServeCommand, SelfCertificateFlagsAreChecked) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  for (const Case& c : {
           Case{self_flags_with({"--certificate-validity=60s"}), "shorter than 90s"},
           Case{self_flags_with({"--certificate-validity=a year"}), "is not a duration"},
           Case{self_flags_with({"--tls-san=Not_A_Name"}), "neither a DNS name nor an IP"},
           Case{{"serve", "--certificate-secret=no-slash", "--inject-ca-into=w", "--tls-san=a"},
                "NAMESPACE/NAME"},
           Case{{"serve", "--certificate-secret=ns/name", "--tls-san=a"}, "--inject-ca-into"},
           Case{{"serve", "--certificate-secret=ns/name", "--inject-ca-into=w"}, "--tls-san"},
           Case{{"serve", "--tls-san=a.b"}, "--certificate-secret"},
           Case{{"serve", "--inject-ca-into=w"}, "--certificate-secret"},
           Case{{"serve", "--kubeconfig=/dev/null"}, "--certificate-secret"},
       }) {
    const Outcome outcome = run(c.args);
    EXPECT_EQ(outcome.status, 2) << c.args.back() << "\n" << outcome.err;
    EXPECT_NE(outcome.err.find(c.expected), std::string::npos) << outcome.err;
  }
}

TEST(ServeCommand, SelfCertificatesOutsideAPodNeedAKubeconfig) {
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  const Outcome outside = run(kSelfFlags);
  EXPECT_EQ(outside.status, 1);
  EXPECT_NE(outside.err.find("give --kubeconfig"), std::string::npos) << outside.err;

  const fs::path insecure = write_temp("insecure-kubeconfig.yaml", R"(apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
)");
  const Outcome refused = run(self_flags_with({"--kubeconfig=" + insecure.string()}));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("insecure-skip-tls-verify"), std::string::npos) << refused.err;
}

TEST(ServeCommand, HelpListsTheSelfCertificateFlags) {
  const Outcome help = run({"serve", "--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* flag : {"--certificate-secret", "--inject-ca-into", "--tls-san",
                           "--certificate-validity", "--kubeconfig"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.out.find("8760h"), std::string::npos);
}

}  // namespace
}  // namespace asmegress::cli
