// Every way a request can be wrong gets its own status, never a 500, and the
// server keeps serving the same connection or the next one.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t test_limit = 64 * 1024;

class HttpErrorsTest : public ::testing::Test {
 protected:
  RunningServer server_{[](ServerConfig& config) { config.max_request_bytes = test_limit; }};
  std::string review_ = testdata("review-create-auto-ports.json");

  // The fixture padded with trailing whitespace (still valid JSON) to `size`.
  std::string review_of_size(std::size_t size) const {
    std::string body = review_;
    body.resize(size, ' ');
    return body;
  }
};

TEST_F(HttpErrorsTest, UnknownPathIs404) {
  auto client = server_.client();
  EXPECT_EQ(client->request("POST", "/mutating", review_).result_int(), 404u);
  EXPECT_EQ(client->request("GET", "/", {}, {}).result_int(), 404u);
}

TEST_F(HttpErrorsTest, WrongMethodIs405WithAllow) {
  auto client = server_.client();
  const auto get_mutate = client->request("GET", "/mutate", {}, {});
  EXPECT_EQ(get_mutate.result_int(), 405u);
  EXPECT_EQ(get_mutate[http::field::allow], "POST");
  const auto put_validate = client->request("PUT", "/validate", review_);
  EXPECT_EQ(put_validate.result_int(), 405u);
  const auto post_healthz = client->request("POST", "/healthz", "{}");
  EXPECT_EQ(post_healthz.result_int(), 405u);
  EXPECT_EQ(post_healthz[http::field::allow], "GET");
}

TEST_F(HttpErrorsTest, ContentTypeOtherThanJsonIs415) {
  auto client = server_.client();
  EXPECT_EQ(client->request("POST", "/mutate", review_, "text/plain").result_int(), 415u);
  EXPECT_EQ(client->request("POST", "/validate", review_, "application/yaml").result_int(), 415u);
  EXPECT_EQ(client->request("POST", "/mutate", review_, "").result_int(), 415u);
  // Parameters and case do not matter.
  EXPECT_EQ(client->request("POST", "/mutate", review_, "application/json; charset=utf-8")
                .result_int(),
            200u);
  EXPECT_EQ(client->request("POST", "/mutate", review_, "Application/JSON").result_int(), 200u);
}

TEST_F(HttpErrorsTest, MalformedReviewIs400WithAMessage) {
  auto client = server_.client();
  const auto not_json = client->request("POST", "/mutate", "{\"apiVersion\":");
  EXPECT_EQ(not_json.result_int(), 400u);
  EXPECT_FALSE(not_json.body().empty());
  const auto not_review = client->request("POST", "/validate", "[1,2,3]");
  EXPECT_EQ(not_review.result_int(), 400u);
  EXPECT_FALSE(not_review.body().empty());
  const auto empty = client->request("POST", "/mutate", "");
  EXPECT_EQ(empty.result_int(), 400u);
  // Same connection, still serving.
  EXPECT_EQ(client->request("POST", "/mutate", review_).result_int(), 200u);
  EXPECT_EQ(server_.metrics().requests(WebhookPath::Mutate, 500), 0u);
}

TEST_F(HttpErrorsTest, BodyAtTheLimitIsServedAndOneByteOverIs413) {
  auto client = server_.client();
  const auto at_limit = client->request("POST", "/mutate", review_of_size(test_limit));
  EXPECT_EQ(at_limit.result_int(), 200u) << at_limit.body();

  const auto over = client->request("POST", "/mutate", review_of_size(test_limit + 1));
  EXPECT_EQ(over.result_int(), 413u);
  EXPECT_FALSE(over.keep_alive());
  EXPECT_EQ(server_.metrics().requests(WebhookPath::Mutate, 413), 1u);
  // A new connection is served.
  EXPECT_EQ(client->request("POST", "/mutate", review_).result_int(), 200u);
}

TEST_F(HttpErrorsTest, OversizedDeclaredLengthIsRefusedBeforeTheBodyIsSent) {
  auto client = server_.client();
  // Only the header is sent: the answer must come from Content-Length alone.
  client->write_raw("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1000000000\r\n\r\n");
  EXPECT_EQ(client->read_response().result_int(), 413u);
}

// The API server always sends Content-Length. A chunked body is refused from
// the header (Beast 1.81 would let its chunk extensions and trailers grow past
// every limit, and throws on a 64 KiB trailer field), on every path.
TEST_F(HttpErrorsTest, ChunkedBodiesAreRefusedBeforeTheirFirstChunk) {
  for (const char* head : {"POST /validate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                           "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"}) {
    auto client = server_.client();
    client->write_raw(head);  // no chunk follows: the answer cannot wait for one
    const auto response = client->read_response();
    EXPECT_EQ(response.result_int(), 411u) << head;
    EXPECT_FALSE(response.keep_alive()) << head;
  }
  EXPECT_EQ(server_.metrics().requests(WebhookPath::Validate, 411), 1u);
}

TEST_F(HttpErrorsTest, RequestSplitAcrossManySmallWritesIsServed) {
  auto client = server_.client();
  client->connect();
  const std::string request = raw_post("/mutate?timeout=10s", review_);
  std::size_t writes = 0;
  for (std::size_t offset = 0; offset < request.size(); offset += 7) {
    client->write_raw(std::string_view(request).substr(offset, 7));
    ++writes;
  }
  ASSERT_GT(writes, 400u);
  const auto response = client->read_response();
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(nlohmann::json::parse(response.body())["response"]["allowed"], true);
}

TEST_F(HttpErrorsTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  auto client = server_.client();
  const std::string request = raw_post("/mutate", review_, "Expect: 100-continue\r\n");
  const std::size_t header_end = request.find("\r\n\r\n") + 4;
  client->write_raw(std::string_view(request).substr(0, header_end));
  EXPECT_EQ(client->read_response().result_int(), 100u);
  client->write_raw(std::string_view(request).substr(header_end));
  EXPECT_EQ(client->read_response().result_int(), 200u);
}

TEST_F(HttpErrorsTest, PipelinedRequestsAreAnsweredInOrder) {
  auto client = server_.client();
  std::string both = raw_post("/validate", review_) + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" +
                     raw_post("/mutate", review_);
  client->write_raw(both);
  EXPECT_EQ(client->read_response().result_int(), 200u);
  EXPECT_EQ(client->read_response().result_int(), 404u);
  const auto third = client->read_response();
  EXPECT_EQ(third.result_int(), 200u);
  EXPECT_NE(third.body().find("patch"), std::string::npos);
}

TEST_F(HttpErrorsTest, GarbageInsteadOfHttpIs400AndTheServerLivesOn) {
  auto client = server_.client();
  client->write_raw("\x01\x02 this is not HTTP\r\n\r\n");
  EXPECT_EQ(client->read_response().result_int(), 400u);
  auto next = server_.client();
  EXPECT_EQ(next->request("GET", "/healthz", {}, {}).result_int(), 200u);
}

TEST_F(HttpErrorsTest, ProbesAndMetricsAnswer) {
  auto client = server_.client();
  EXPECT_EQ(client->request("GET", "/healthz", {}, {}).result_int(), 200u);
  EXPECT_EQ(client->request("GET", "/readyz", {}, {}).result_int(), 200u);
  const auto metrics = client->request("GET", "/metrics", {}, {});
  EXPECT_EQ(metrics.result_int(), 200u);
  EXPECT_EQ(metrics[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace asmegress::server::testing
