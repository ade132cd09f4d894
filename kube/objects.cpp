#include "kube/objects.h"

#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace asmegress::kube {

namespace json = boost::json;

std::string base64_encode(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(written));
  return text;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes(3 * (text.size() / 4), '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes; take them off again.
  std::size_t size = static_cast<std::size_t>(written);
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  bytes.resize(size);
  return bytes;
}

std::string string_at(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

const json::object* object_at(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

std::optional<Secret> secret_from_json(const json::value& value, std::string& error) {
  if (!value.is_object()) {
    error = "the Secret is not a JSON object";
    return std::nullopt;
  }
  Secret secret;
  secret.object = value.get_object();
  const json::object* metadata = object_at(secret.object, "metadata");
  if (metadata == nullptr) {
    error = "the Secret has no metadata";
    return std::nullopt;
  }
  secret.namespace_name = string_at(*metadata, "namespace");
  secret.name = string_at(*metadata, "name");
  secret.resource_version = string_at(*metadata, "resourceVersion");
  secret.type = string_at(secret.object, "type");
  if (const json::object* annotations = object_at(*metadata, "annotations")) {
    for (const auto& [key, text] : *annotations) {
      if (text.is_string()) secret.annotations[std::string(key)] = std::string(text.get_string());
    }
  }
  if (const json::object* data = object_at(secret.object, "data")) {
    for (const auto& [key, encoded] : *data) {
      if (!encoded.is_string()) continue;
      auto decoded = base64_decode(encoded.get_string());
      if (!decoded) {
        error = "the Secret's data." + std::string(key) + " is not base64";
        return std::nullopt;
      }
      secret.data[std::string(key)] = std::move(*decoded);
    }
  }
  return secret;
}

std::string secret_to_json(const Secret& secret) {
  json::object object = secret.object;
  object["apiVersion"] = "v1";
  object["kind"] = "Secret";
  json::value& metadata_value = object["metadata"];
  if (!metadata_value.is_object()) metadata_value = json::object();
  json::object& metadata = metadata_value.get_object();
  metadata["name"] = secret.name;
  metadata["namespace"] = secret.namespace_name;
  if (!secret.resource_version.empty()) metadata["resourceVersion"] = secret.resource_version;
  // The server owns managedFields; sending them back is allowed but pointless.
  metadata.erase("managedFields");
  if (secret.annotations.empty()) {
    metadata.erase("annotations");
  } else {
    json::object annotations;
    for (const auto& [key, text] : secret.annotations) annotations[key] = text;
    metadata["annotations"] = std::move(annotations);
  }
  object["type"] = secret.type;
  json::object data;
  for (const auto& [key, bytes] : secret.data) data[key] = base64_encode(bytes);
  object["data"] = std::move(data);
  object.erase("stringData");
  return json::serialize(object);
}

std::string_view kind_name(WebhookConfigurationKind kind) {
  return kind == WebhookConfigurationKind::Mutating ? "MutatingWebhookConfiguration"
                                                    : "ValidatingWebhookConfiguration";
}

std::optional<WebhookConfiguration> webhook_configuration_from_json(WebhookConfigurationKind kind,
                                                                    const json::value& value,
                                                                    std::string& error) {
  const std::string what(kind_name(kind));
  if (!value.is_object()) {
    error = "the " + what + " is not a JSON object";
    return std::nullopt;
  }
  const json::object& object = value.get_object();
  WebhookConfiguration configuration;
  configuration.kind = kind;
  if (const json::object* metadata = object_at(object, "metadata")) {
    configuration.name = string_at(*metadata, "name");
    configuration.resource_version = string_at(*metadata, "resourceVersion");
  }
  if (configuration.resource_version.empty()) {
    error = "the " + what + " has no metadata.resourceVersion";
    return std::nullopt;
  }
  const json::value* webhooks = object.if_contains("webhooks");
  if (webhooks == nullptr || webhooks->is_null()) return configuration;
  if (!webhooks->is_array()) {
    error = "the " + what + "'s webhooks is not a list";
    return std::nullopt;
  }
  for (const json::value& webhook : webhooks->get_array()) {
    if (!webhook.is_object()) {
      error = "a webhook of the " + what + " is not an object";
      return std::nullopt;
    }
    configuration.webhook_names.push_back(string_at(webhook.get_object(), "name"));
    std::string bundle;
    if (const json::object* client = object_at(webhook.get_object(), "clientConfig")) {
      const std::string encoded = string_at(*client, "caBundle");
      auto decoded = base64_decode(encoded);
      if (!decoded) {
        error = "the caBundle of webhook \"" + configuration.webhook_names.back() + "\" in the " +
                what + " is not base64";
        return std::nullopt;
      }
      bundle = std::move(*decoded);
    }
    configuration.ca_bundles.push_back(std::move(bundle));
  }
  return configuration;
}

std::string ca_bundle_patch(const WebhookConfiguration& seen, std::string_view pem_bundle) {
  json::array operations;
  operations.push_back(json::object{{"op", "replace"},
                                    {"path", "/metadata/resourceVersion"},
                                    {"value", seen.resource_version}});
  const std::string encoded = base64_encode(pem_bundle);
  for (std::size_t i = 0; i < seen.webhook_names.size(); ++i) {
    // "add" sets a member whether or not it is there; clientConfig always is.
    operations.push_back(json::object{
        {"op", "add"},
        {"path", "/webhooks/" + std::to_string(i) + "/clientConfig/caBundle"},
        {"value", encoded}});
  }
  return json::serialize(operations);
}

Status status_from_body(std::string_view body) {
  // What it says goes into logs and /readyz again and again: a few lines at most.
  constexpr std::size_t kept = 512;
  const auto cut = [](std::string text) {
    if (text.size() > kept) text.resize(kept);
    return text;
  };
  Status status;
  json::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    status.message = std::string(body.substr(0, kept));
    return status;
  }
  status.reason = cut(string_at(value.get_object(), "reason"));
  status.message = cut(string_at(value.get_object(), "message"));
  return status;
}

}  // namespace asmegress::kube
