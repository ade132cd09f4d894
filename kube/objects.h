#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace asmegress::kube {

// The member `key` of `object` as a string, empty when absent or not a
// string; as an object, null when absent or not an object.
std::string string_at(const boost::json::object& object, std::string_view key);
const boost::json::object* object_at(const boost::json::object& object, std::string_view key);

// Standard base64 (RFC 4648, with padding), as Kubernetes writes []byte.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// A core/v1 Secret, with its data decoded. `object` is the whole object as the
// API server returned it: an update starts from it, so that labels, owner
// references and fields this client does not know survive.
struct Secret {
  std::string namespace_name;
  std::string name;
  std::string resource_version;
  std::string type;
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> annotations;
  boost::json::object object;
};

std::optional<Secret> secret_from_json(const boost::json::value& value, std::string& error);
// The object to send: `object` with metadata.name, namespace, resourceVersion
// (when set), annotations, type and data replaced by the fields.
std::string secret_to_json(const Secret& secret);

enum class WebhookConfigurationKind { Mutating, Validating };
std::string_view kind_name(WebhookConfigurationKind kind);  // "MutatingWebhookConfiguration"

// What the client reads of a Mutating- or ValidatingWebhookConfiguration.
struct WebhookConfiguration {
  WebhookConfigurationKind kind = WebhookConfigurationKind::Mutating;
  std::string name;
  std::string resource_version;
  std::vector<std::string> webhook_names;
  std::vector<std::string> ca_bundles;  // decoded clientConfig.caBundle of each webhook, "" if none
};

std::optional<WebhookConfiguration> webhook_configuration_from_json(
    WebhookConfigurationKind kind, const boost::json::value& value, std::string& error);

// A JSON Patch (RFC 6902) that sets every webhook's clientConfig.caBundle to
// `pem_bundle`. Its first operation puts the resourceVersion read: the API
// server then applies it only to that version and answers 409 otherwise, so
// the webhook indices cannot have moved underneath it.
std::string ca_bundle_patch(const WebhookConfiguration& seen, std::string_view pem_bundle);

// The interesting part of a metav1.Status error body.
struct Status {
  std::string reason;  // Forbidden, Conflict, AlreadyExists, NotFound, ...
  std::string message;
};
Status status_from_body(std::string_view body);

}  // namespace asmegress::kube
