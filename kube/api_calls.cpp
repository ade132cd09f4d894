#include "kube/api_calls.h"

namespace asmegress::kube {

std::string_view http_method(const ApiCall& call) {
  if (call.verb == "create") return "POST";
  if (call.verb == "update") return "PUT";
  if (call.verb == "patch") return "PATCH";
  return "GET";  // get, and list and watch, which the client does not use
}

bool rbac_names_apply(const ApiCall& call) {
  return call.verb != "create" && call.verb != "list" && call.verb != "watch";
}

std::string object_path(const ApiCall& call, std::string_view namespace_name,
                        std::string_view name) {
  std::string path = call.api_group.empty() ? "/api/" : "/apis/";
  if (!call.api_group.empty()) path.append(call.api_group).append("/");
  path.append(call.version);
  if (call.scope == Scope::Namespaced) path.append("/namespaces/").append(namespace_name);
  path.append("/").append(call.resource);
  if (!name.empty()) path.append("/").append(name);
  return path;
}

std::string rbac_rule_text(const ApiCall& call, std::string_view namespace_name,
                           std::string_view name) {
  std::string text = call.scope == Scope::Namespaced
                         ? "a Role in namespace \"" + std::string(namespace_name) + "\""
                         : std::string("a ClusterRole");
  text += " with the rule {apiGroups: [\"" + std::string(call.api_group) + "\"], resources: [\"" +
          std::string(call.resource) + "\"]";
  if (rbac_names_apply(call) && !name.empty()) {
    text += ", resourceNames: [\"" + std::string(name) + "\"]";
  }
  text += ", verbs: [\"" + std::string(call.verb) + "\"]}";
  text += call.scope == Scope::Namespaced ? ", bound by a RoleBinding" : ", bound by a ClusterRoleBinding";
  text += " to the server's service account";
  return text;
}

}  // namespace asmegress::kube
