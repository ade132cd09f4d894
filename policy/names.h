#pragma once

#include <string_view>

namespace asmegress::policy {

// The syntax checks Kubernetes applies to names (k8s.io/apimachinery's
// validation package), plus IP literals. Each returns an empty string when
// the value is valid, else what is wrong, in Kubernetes' words.
std::string_view dns1123_label_error(std::string_view s);
std::string_view dns1123_subdomain_error(std::string_view s);
std::string_view label_key_error(std::string_view s);
std::string_view label_value_error(std::string_view s);

bool is_ip_address(std::string_view s);

}  // namespace asmegress::policy
