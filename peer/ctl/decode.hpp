#pragma once
// `ikemectl decode`: prints every IKE message, ESP packet and keepalive in a capture.

#include <string>
#include <vector>

namespace ikeme::ctl {

// Runs the decode command with its own arguments (after the word "decode"); returns the exit code.
int run_decode(const std::vector<std::string>& args);

}  // namespace ikeme::ctl
