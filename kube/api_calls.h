#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace asmegress::kube {

enum class Scope { Namespaced, Cluster };

// One kind of request to the API server: an RBAC verb on a resource.
struct ApiCall {
  std::string_view verb;  // RBAC's word: get, create, update, patch
  std::string_view api_group;
  std::string_view version;
  std::string_view resource;
  Scope scope;
};

// Every request the client can make, and so every permission the server
// needs. The client builds each request from this table (method from the
// verb, path from group, version and resource), so it cannot make one that
// is not listed; the tests' fake API server refuses anything else with 403;
// and the chart tests read these lines to check that the chart's Role and
// ClusterRole grant exactly them. Keep one entry per line, in this form.
inline constexpr std::array<ApiCall, 7> api_calls{{
    {"get", "", "v1", "secrets", Scope::Namespaced},
    {"create", "", "v1", "secrets", Scope::Namespaced},
    {"update", "", "v1", "secrets", Scope::Namespaced},
    {"get", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", Scope::Cluster},
    {"patch", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", Scope::Cluster},
    {"get", "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", Scope::Cluster},
    {"patch", "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", Scope::Cluster},
}};

// Indices into api_calls, in its order.
enum class Call : std::size_t {
  GetSecret,
  CreateSecret,
  UpdateSecret,
  GetMutatingWebhookConfiguration,
  PatchMutatingWebhookConfiguration,
  GetValidatingWebhookConfiguration,
  PatchValidatingWebhookConfiguration,
};

constexpr const ApiCall& api_call(Call call) { return api_calls[static_cast<std::size_t>(call)]; }

// The HTTP method of a verb: GET, POST, PUT, PATCH.
std::string_view http_method(const ApiCall& call);

// Whether an RBAC rule can name the object for this verb. It cannot for
// create (the name is not known before the object exists), nor for list and
// watch without a metadata.name field selector.
bool rbac_names_apply(const ApiCall& call);

// The request path of a call on one object (empty `name` for create):
// /api/v1/namespaces/NS/secrets/NAME, /apis/GROUP/VERSION/RESOURCE/NAME.
std::string object_path(const ApiCall& call, std::string_view namespace_name,
                        std::string_view name);

// The RBAC rule that allows the call on that object, as an operator would
// write it, for the message of a 403: a Role in the namespace, or a
// ClusterRole, with apiGroups, resources, resourceNames (where they apply)
// and verbs.
std::string rbac_rule_text(const ApiCall& call, std::string_view namespace_name,
                           std::string_view name);

}  // namespace asmegress::kube
