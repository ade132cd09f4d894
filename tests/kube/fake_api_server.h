#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/cluster_access.h"

namespace asmegress::kube::testing {

// A request as the fake understood it.
struct RecordedRequest {
  std::string method;
  std::string path;
  std::string verb;       // RBAC verb: get, create, update, patch, ...
  std::string api_group;  // "" for the core group
  std::string resource;
  std::string namespace_name;
  std::string name;
  std::string content_type;
  std::string body;
  bool admin = false;    // made with the admin token (the test itself)
  unsigned status = 0;   // 0: no answer (dropped, hung)
};

// An RBAC rule, as a Role (namespace set) or ClusterRole (namespace empty)
// would grant it; `name` empty grants every object.
struct RbacRule {
  std::string verb;
  std::string api_group;
  std::string resource;
  std::string namespace_name;
  std::string name;
};

// The rules the server needs for one Secret and one pair of webhook
// configurations, derived from kube/api_calls.h the way the chart's are.
std::vector<RbacRule> rules_for(const std::string& secret_namespace, const std::string& secret_name,
                                const std::string& configuration_name);

// An in-process stand-in for kube-apiserver, over HTTPS on loopback, for the
// few resources the webhook touches (Secrets and webhook configurations),
// with the semantics its client relies on: resourceVersion on every write,
// 409 AlreadyExists on create, 409 Conflict on a stale update or patch
// (JSON Patch and merge patch, resourceVersion in the patch as a
// precondition), 404, immutable Secret type, bearer tokens (401) and RBAC
// (403 in kube-apiserver's words). Faults can be scripted per verb and
// resource: an error status, a dropped connection or no answer at all.
class FakeApiServer {
 public:
  struct Options {
    std::string token = "webhook-token";
    // Requests with this token skip RBAC and are marked admin: the test's own.
    std::string admin_token = "admin-token";
    std::string user = "system:serviceaccount:asm-egress-webhook:asm-egress-webhook";
    std::uint16_t port = 0;
    // A connection that says nothing for this long is closed.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(10)};
  };

  enum class Fault { Forbidden, Conflict, ServerError, Drop, Hang };

  explicit FakeApiServer(Options options);
  FakeApiServer() : FakeApiServer(Options{}) {}
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& ca_pem() const { return ca_pem_; }
  // What the webhook's client is given: 127.0.0.1, the CA, the webhook token.
  ClusterAccess access() const;
  // The same as a kubeconfig (YAML is a superset of this JSON).
  std::string kubeconfig() const;

  // RBAC for the webhook's token; nullopt (the default) allows everything.
  void set_rules(std::optional<std::vector<RbacRule>> rules);

  // The next `times` requests with this verb and resource meet `fault`.
  void add_fault(const std::string& verb, const std::string& resource, Fault fault, int times = 1);

  // Runs before each request is handled (after it was read), outside the
  // fake's lock: a test can write objects here, as another client would.
  void on_request(std::function<void(const RecordedRequest&)> hook);

  // The store, by object path (/api/v1/namespaces/NS/secrets/NAME, ...).
  // put() writes as an admin would: it sets a new resourceVersion.
  std::optional<nlohmann::json> get(const std::string& path) const;
  // The object as it was at `moment` (every write is kept, with its time):
  // what a client with a cache that lags would see.
  std::optional<nlohmann::json> get_as_of(const std::string& path,
                                          std::chrono::steady_clock::time_point moment) const;
  nlohmann::json put(const std::string& path, nlohmann::json object);
  void erase(const std::string& path);

  static std::string secret_path(const std::string& namespace_name, const std::string& name);
  static std::string mutating_path(const std::string& name);
  static std::string validating_path(const std::string& name);
  // A configuration of `kind` with `webhooks` entries and no caBundle, as
  // the chart renders it in self mode.
  static nlohmann::json webhook_configuration(const std::string& kind, const std::string& name,
                                              int webhooks);

  std::vector<RecordedRequest> requests() const;
  // Waits (polling, up to `timeout`) until `condition` holds.
  bool wait_for(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

  void stop();

 private:
  struct Answer {
    unsigned status = 0;  // 0: none
    std::string body;
  };
  void accept_loop();
  void serve(int fd);
  Answer handle(RecordedRequest& request, const std::string& authorization);
  Answer handle_authorised(RecordedRequest& request);
  static Answer status(unsigned code, const std::string& reason, const std::string& message);
  std::string forbidden_message(const RecordedRequest& request) const;

  Options options_;
  std::string ca_pem_;
  std::string certificate_pem_;
  std::string key_pem_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Connection> connections_;
  std::vector<int> open_fds_;
  void record(const std::string& path, const nlohmann::json& object);  // under mutex_
  std::map<std::string, nlohmann::json> objects_;
  std::map<std::string,
           std::vector<std::pair<std::chrono::steady_clock::time_point, nlohmann::json>>>
      history_;
  std::uint64_t resource_version_ = 1000;
  std::optional<std::vector<RbacRule>> rules_;
  struct ScriptedFault {
    std::string verb;
    std::string resource;
    Fault fault;
    int times;
  };
  std::vector<ScriptedFault> faults_;
  std::function<void(const RecordedRequest&)> hook_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace asmegress::kube::testing
