#include "tests/kube/fake_api_server.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "kube/api_calls.h"
#include "kube/objects.h"
#include "server/certificate_generator.h"

namespace asmegress::kube::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using nlohmann::json;

namespace {

std::string verb_of(const std::string& method, const std::string& name) {
  if (method == "GET") return name.empty() ? "list" : "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return "unknown";
}

// /api/v1/namespaces/NS/secrets/NAME, /apis/GROUP/VERSION/RESOURCE/NAME
bool parse_path(const std::string& target, RecordedRequest& request) {
  std::string path = target.substr(0, target.find('?'));
  request.path = path;
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    i = 2;  // api, v1
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    request.api_group = parts[1];
    i = 3;  // apis, group, version
  } else {
    return false;
  }
  if (i + 1 < parts.size() && parts[i] == "namespaces") {
    request.namespace_name = parts[i + 1];
    i += 2;
  }
  if (i >= parts.size()) return false;
  request.resource = parts[i];
  if (i + 1 < parts.size()) request.name = parts[i + 1];
  return i + 2 >= parts.size();
}

std::string singular_kind(const std::string& resource) {
  if (resource == "secrets") return "secrets";
  return resource;
}

}  // namespace

std::vector<RbacRule> rules_for(const std::string& secret_namespace, const std::string& secret_name,
                                const std::string& configuration_name) {
  std::vector<RbacRule> rules;
  for (const ApiCall& call : api_calls) {
    RbacRule rule;
    rule.verb = std::string(call.verb);
    rule.api_group = std::string(call.api_group);
    rule.resource = std::string(call.resource);
    rule.namespace_name = call.scope == Scope::Namespaced ? secret_namespace : "";
    if (rbac_names_apply(call)) {
      rule.name = call.resource == "secrets" ? secret_name : configuration_name;
    }
    rules.push_back(rule);
  }
  return rules;
}

FakeApiServer::FakeApiServer(Options options) : options_(std::move(options)) {
  std::string error;
  const auto ca = server::generate_certificate_authority("fake-kube-apiserver-ca",
                                                         std::chrono::hours(24), error);
  if (!ca) throw std::runtime_error(error);
  server::CertificateRequest request;
  request.common_name = "kube-apiserver";
  request.dns_names = {"localhost", "kubernetes.default.svc"};
  request.ip_addresses = {"127.0.0.1"};
  const auto serving = server::issue_certificate(*ca, request, error);
  if (!serving) throw std::runtime_error(error);
  ca_pem_ = ca->certificate;
  certificate_pem_ = serving->certificate;
  key_pem_ = serving->private_key;

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(options_.port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("the fake API server cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeApiServer::~FakeApiServer() { stop(); }

void FakeApiServer::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::list<Connection> connections;
  {
    const std::lock_guard lock(mutex_);
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    connections.swap(connections_);
  }
  stopped_.notify_all();
  for (auto& connection : connections) connection.thread.join();
}

ClusterAccess FakeApiServer::access() const {
  ClusterAccess access;
  access.host = "127.0.0.1";
  access.port = std::to_string(port_);
  access.ca_pem = ca_pem_;
  access.token = options_.token;
  access.origin = "fake API server";
  return access;
}

std::string FakeApiServer::kubeconfig() const {
  const json config{
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"current-context", "fake"},
      {"clusters",
       {{{"name", "fake"},
         {"cluster",
          {{"server", "https://127.0.0.1:" + std::to_string(port_)},
           {"certificate-authority-data", base64_encode(ca_pem_)}}}}}},
      {"users", {{{"name", "webhook"}, {"user", {{"token", options_.token}}}}}},
      {"contexts", {{{"name", "fake"}, {"context", {{"cluster", "fake"}, {"user", "webhook"}}}}}},
  };
  return config.dump(2) + "\n";
}

void FakeApiServer::set_rules(std::optional<std::vector<RbacRule>> rules) {
  const std::lock_guard lock(mutex_);
  rules_ = std::move(rules);
}

void FakeApiServer::add_fault(const std::string& verb, const std::string& resource, Fault fault,
                              int times) {
  const std::lock_guard lock(mutex_);
  faults_.push_back({verb, resource, fault, times});
}

void FakeApiServer::on_request(std::function<void(const RecordedRequest&)> hook) {
  const std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

std::optional<json> FakeApiServer::get(const std::string& path) const {
  const std::lock_guard lock(mutex_);
  const auto found = objects_.find(path);
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

json FakeApiServer::put(const std::string& path, json object) {
  const std::lock_guard lock(mutex_);
  object["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  objects_[path] = object;
  record(path, object);
  return object;
}

void FakeApiServer::record(const std::string& path, const json& object) {
  history_[path].emplace_back(std::chrono::steady_clock::now(), object);
}

std::optional<json> FakeApiServer::get_as_of(const std::string& path,
                                             std::chrono::steady_clock::time_point moment) const {
  const std::lock_guard lock(mutex_);
  const auto found = history_.find(path);
  if (found == history_.end()) return std::nullopt;
  std::optional<json> as_of;
  for (const auto& [at, object] : found->second) {
    if (at > moment) break;
    as_of = object;
  }
  if (as_of && as_of->is_null()) return std::nullopt;  // erased by then
  return as_of;
}

void FakeApiServer::erase(const std::string& path) {
  const std::lock_guard lock(mutex_);
  objects_.erase(path);
  history_[path].emplace_back(std::chrono::steady_clock::now(), json());
}

std::string FakeApiServer::secret_path(const std::string& namespace_name, const std::string& name) {
  return "/api/v1/namespaces/" + namespace_name + "/secrets/" + name;
}
std::string FakeApiServer::mutating_path(const std::string& name) {
  return "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + name;
}
std::string FakeApiServer::validating_path(const std::string& name) {
  return "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" + name;
}

json FakeApiServer::webhook_configuration(const std::string& kind, const std::string& name,
                                          int webhooks) {
  json object{{"apiVersion", "admissionregistration.k8s.io/v1"},
              {"kind", kind},
              {"metadata", {{"name", name}, {"labels", {{"app.kubernetes.io/managed-by", "Helm"}}}}},
              {"webhooks", json::array()}};
  const std::string action = kind == "MutatingWebhookConfiguration" ? "mutate" : "validate";
  for (int i = 0; i < webhooks; ++i) {
    object["webhooks"].push_back(
        {{"name", action + std::to_string(i) + ".asmegresstrafficpolicies.istio.alibabacloud.com"},
         {"admissionReviewVersions", {"v1"}},
         {"sideEffects", "None"},
         {"clientConfig",
          {{"service",
            {{"name", "asm-egress-webhook"}, {"namespace", "asm-egress-webhook"},
             {"path", "/" + action}}}}}});
  }
  return object;
}

std::vector<RecordedRequest> FakeApiServer::requests() const {
  const std::lock_guard lock(mutex_);
  return requests_;
}

bool FakeApiServer::wait_for(const std::function<bool()>& condition,
                             std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

void FakeApiServer::accept_loop() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const std::lock_guard lock(mutex_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    // Threads of connections that ended are joined here, so a long run
    // (the image test's) does not pile them up.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    open_fds_.push_back(fd);
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections_.push_back({std::thread([this, fd, done] {
                              serve(fd);
                              done->store(true);
                            }),
                            done});
  }
}

void FakeApiServer::serve(int fd) {
  timeval timeout{};
  timeout.tv_sec = static_cast<long>(options_.idle_timeout.count() / 1000);
  timeout.tv_usec = static_cast<long>((options_.idle_timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain(asio::buffer(certificate_pem_));
  tls.use_private_key(asio::buffer(key_pem_), asio::ssl::context::pem);
  asio::ssl::stream<tcp::socket> stream(io, tls);
  boost::system::error_code ec;
  stream.next_layer().assign(tcp::v4(), fd, ec);
  const auto forget = [this, fd] {
    const std::lock_guard lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  };
  if (!ec) stream.handshake(asio::ssl::stream_base::server, ec);
  boost::beast::flat_buffer buffer;
  while (!ec && !stopping_.load()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
    if (ec) break;
    const auto& message = parser.get();
    RecordedRequest request;
    request.method = std::string(message.method_string());
    request.content_type = std::string(message[http::field::content_type]);
    request.body = message.body();
    const bool understood = parse_path(std::string(message.target()), request);
    request.verb = verb_of(request.method, request.name);
    const std::string authorization(message[http::field::authorization]);
    request.admin = authorization == "Bearer " + options_.admin_token;

    std::function<void(const RecordedRequest&)> hook;
    {
      const std::lock_guard lock(mutex_);
      hook = hook_;
    }
    if (hook && !request.admin) hook(request);

    Answer answer = understood ? handle(request, authorization)
                               : status(404, "NotFound", "the server could not find the requested resource");
    request.status = answer.status;
    {
      const std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    if (answer.status == 0) {
      if (answer.body == "hang") {
        // No answer: hold the connection until the client gives up or the fake stops.
        std::unique_lock lock(mutex_);
        stopped_.wait_for(lock, options_.idle_timeout, [this] { return stopping_.load(); });
      }
      break;  // dropped: close without a word
    }
    http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
    response.set(http::field::content_type, "application/json");
    response.set("Audit-Id", "fake");
    response.keep_alive(message.keep_alive());
    response.body() = std::move(answer.body);
    response.prepare_payload();
    http::write(stream, response, ec);
    if (!message.keep_alive()) break;
  }
  forget();
  boost::system::error_code ignored;
  stream.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream.next_layer().close(ignored);
}

FakeApiServer::Answer FakeApiServer::status(unsigned code, const std::string& reason,
                                            const std::string& message) {
  const json body{{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", json::object()},
                  {"status", "Failure"},  {"message", message}, {"reason", reason},
                  {"code", code}};
  return {code, body.dump()};
}

std::string FakeApiServer::forbidden_message(const RecordedRequest& request) const {
  const std::string qualified =
      request.api_group.empty() ? request.resource : request.resource + "." + request.api_group;
  std::string text = qualified;
  if (!request.name.empty()) text += " \"" + request.name + "\"";
  text += " is forbidden: User \"" + options_.user + "\" cannot " + request.verb +
          " resource \"" + request.resource + "\" in API group \"" + request.api_group + "\"";
  text += request.namespace_name.empty() ? " at the cluster scope"
                                         : " in the namespace \"" + request.namespace_name + "\"";
  return text;
}

FakeApiServer::Answer FakeApiServer::handle(RecordedRequest& request,
                                            const std::string& authorization) {
  if (!request.admin && authorization != "Bearer " + options_.token) {
    return status(401, "Unauthorized", "Unauthorized");
  }
  if (!request.admin) {
    const std::lock_guard lock(mutex_);
    for (auto& fault : faults_) {
      if (fault.times <= 0 || fault.verb != request.verb || fault.resource != request.resource) {
        continue;
      }
      --fault.times;
      switch (fault.fault) {
        case Fault::Forbidden:
          return status(403, "Forbidden", forbidden_message(request));
        case Fault::Conflict:
          return status(409, "Conflict",
                        "Operation cannot be fulfilled on " + request.resource + " \"" +
                            request.name +
                            "\": the object has been modified; please apply your changes to "
                            "the latest version and try again");
        case Fault::ServerError:
          return status(500, "InternalError", "an error on the server has prevented the request");
        case Fault::Drop:
          return {0, "drop"};
        case Fault::Hang:
          return {0, "hang"};
      }
    }
    if (rules_) {
      const bool allowed = std::any_of(rules_->begin(), rules_->end(), [&](const RbacRule& rule) {
        return rule.verb == request.verb && rule.api_group == request.api_group &&
               rule.resource == request.resource &&
               rule.namespace_name == request.namespace_name &&
               (rule.name.empty() || rule.name == request.name);
      });
      if (!allowed) return status(403, "Forbidden", forbidden_message(request));
    }
  }
  return handle_authorised(request);
}

FakeApiServer::Answer FakeApiServer::handle_authorised(RecordedRequest& request) {
  const std::lock_guard lock(mutex_);
  const std::string kind_text = singular_kind(request.resource);
  const auto not_found = [&] {
    return status(404, "NotFound",
                  kind_text + " \"" + request.name + "\" not found");
  };
  if (request.method == "GET" && !request.name.empty()) {
    const auto found = objects_.find(request.path);
    if (found == objects_.end()) return not_found();
    return {200, found->second.dump()};
  }
  json body;
  if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    body = json::parse(request.body, nullptr, false);
    if (body.is_discarded()) return status(400, "BadRequest", "the body is not JSON");
  }
  if (request.method == "POST" && request.name.empty()) {
    const std::string name = body.value("/metadata/name"_json_pointer, std::string());
    if (name.empty()) return status(422, "Invalid", "metadata.name: Required value");
    if (body.contains("metadata") && body["metadata"].contains("resourceVersion")) {
      return status(500, "InternalError", "resourceVersion should not be set on objects to be created");
    }
    const std::string path = request.path + "/" + name;
    request.name = name;
    if (objects_.count(path) != 0) {
      return status(409, "AlreadyExists", kind_text + " \"" + name + "\" already exists");
    }
    body["metadata"]["namespace"] = request.namespace_name;
    body["metadata"]["uid"] = "uid-" + std::to_string(resource_version_);
    body["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    objects_[path] = body;
    record(path, body);
    return {201, body.dump()};
  }
  if (request.method == "PUT" && !request.name.empty()) {
    const auto found = objects_.find(request.path);
    if (found == objects_.end()) return not_found();
    const std::string sent = body.value("/metadata/resourceVersion"_json_pointer, std::string());
    const std::string current = found->second["metadata"].value("resourceVersion", "");
    if (!sent.empty() && sent != current) {
      return status(409, "Conflict",
                    "Operation cannot be fulfilled on " + request.resource + " \"" + request.name +
                        "\": the object has been modified; please apply your changes to the "
                        "latest version and try again");
    }
    if (request.resource == "secrets" &&
        body.value("type", "Opaque") != found->second.value("type", "Opaque")) {
      return status(422, "Invalid",
                    "Secret \"" + request.name + "\" is invalid: type: Invalid value: field is "
                    "immutable");
    }
    body["metadata"]["uid"] = found->second["metadata"].value("uid", "");
    body["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    found->second = body;
    record(request.path, body);
    return {200, body.dump()};
  }
  if (request.method == "PATCH" && !request.name.empty()) {
    const auto found = objects_.find(request.path);
    if (found == objects_.end()) return not_found();
    json patched;
    try {
      if (request.content_type == "application/json-patch+json") {
        patched = found->second.patch(body);
      } else if (request.content_type == "application/merge-patch+json") {
        patched = found->second;
        patched.merge_patch(body);
      } else {
        return status(415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format");
      }
    } catch (const std::exception& e) {
      return status(422, "Invalid", std::string("the patch does not apply: ") + e.what());
    }
    // A resourceVersion the patch sets is a precondition, as in kube-apiserver.
    const std::string current = found->second["metadata"].value("resourceVersion", "");
    if (patched["metadata"].value("resourceVersion", "") != current) {
      return status(409, "Conflict",
                    "Operation cannot be fulfilled on " + request.resource + "." +
                        request.api_group + " \"" + request.name +
                        "\": the object has been modified; please apply your changes to the "
                        "latest version and try again");
    }
    patched["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    found->second = patched;
    record(request.path, patched);
    return {200, patched.dump()};
  }
  return status(405, "MethodNotAllowed", "the server does not allow this method");
}

}  // namespace asmegress::kube::testing
