#pragma once

#include <string>
#include <vector>

#include "policy/field_error.h"
#include "policy/model.h"
#include "policy/settings.h"

namespace asmegress::policy {

// Checks a decoded policy against the resource's conventions and field rules,
// appending every error (not just the first) and the warnings: what is legal
// but likely not what the author meant.
void validate(const Policy& policy, const Settings& settings, FieldErrors& errors,
              Warnings& warnings);

// "egress-by-gw" or "gw", by the settings' name rule.
std::string expected_policy_name(const Settings& settings, std::string_view gateway);

// Gateway port limits, shared with the allocator.
inline constexpr std::int64_t kMaxPort = 65535;
inline constexpr std::size_t kMaxGatewayNameLength = 32;
inline constexpr std::size_t kMaxWarningLength = 120;

}  // namespace asmegress::policy
